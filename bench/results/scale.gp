set terminal pngcairo font ',10' size 1500,500 noenhanced
set output 'scale.png'
set datafile missing '?'
set logscale xy
set grid
set key top left
set xlabel 'containers present'
set ylabel 'ms, median'
set multiplot layout 1,3 title 'Cost as the host fills up (bench/results.md)'
set title 'list'
plot 'scale.dat' index 0 using 1:2 with linespoints title 'rt', '' index 0 using 1:3 with linespoints title 'runc', '' index 0 using 1:4 with linespoints title 'crun', '' index 0 using 1:5 with linespoints title 'youki'
set title 'state'
plot 'scale.dat' index 1 using 1:2 with linespoints title 'rt', '' index 1 using 1:3 with linespoints title 'runc', '' index 1 using 1:4 with linespoints title 'crun', '' index 1 using 1:5 with linespoints title 'youki'
set title 'create'
plot 'scale.dat' index 2 using 1:2 with linespoints title 'rt', '' index 2 using 1:3 with linespoints title 'runc', '' index 2 using 1:4 with linespoints title 'crun', '' index 2 using 1:5 with linespoints title 'youki'
unset multiplot
