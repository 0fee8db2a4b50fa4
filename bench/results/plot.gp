set terminal pngcairo font ',10' size 1200,1000 noenhanced
set output 'results.png'
set datafile missing '?'
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.85 border -1
set grid ytics
set key top left
set multiplot layout 2,1 title "OCI runtimes side by side (bench/results.md)"
set title "Time: median, error bar up to p90 (ms, log scale)"
set ylabel 'ms (log scale)'
set logscale y
plot 'times.dat' using 2:2:3:xtic(1) title 'rt', '' using 4:4:5 title 'runc', '' using 6:6:7 title 'crun', '' using 8:8:9 title 'youki'
unset logscale y
set title "Peak RSS of the runtime process (ru_maxrss): median, error bar up to max (MiB)"
set ylabel 'MiB'
set yrange [0:*]
plot 'rss.dat' using 2:2:3:xtic(1) title 'rt', '' using 4:4:5 title 'runc', '' using 6:6:7 title 'crun', '' using 8:8:9 title 'youki'
unset multiplot
