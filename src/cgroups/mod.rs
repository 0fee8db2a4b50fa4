//! The only place that talks to libcgroups.
//!
//! Placement policy: a relative `linux.cgroupsPath` (and the default, the container ID) is
//! taken relative to the cgroup `rt` itself runs in, so rt only ever creates cgroups below
//! its own. On v1 every hierarchy has its own "own cgroup", and the container goes below
//! each (as runc places it): where a supervisor confines only some controllers, as on this
//! project's build hosts, the container's path differs between hierarchies, and the
//! record keeps each (`CgroupRecord::dir_in`). libcgroups' v1 manager is built from those
//! directories (`Manager::with_subsystem_paths`, in the vendored copy).
//!
//! Ownership: rt records which directories it created (the leaf and any missing ancestors,
//! per hierarchy) and removes exactly those. A cgroupsPath naming an existing cgroup is
//! joined but never removed; one that already holds processes is refused (`claim`), so
//! whatever is in the container's cgroup is the container's.

mod apply;
mod error;
mod host;
mod join;
mod placement;
mod record;
mod registry;
mod remove;
pub mod resources;

pub use apply::*;
pub use host::*;
pub use join::*;
pub use placement::*;
pub use record::CgroupRecord;
pub use registry::Registry;
pub use remove::*;

/// libcgroups' statistics, as `events` converts them to runc's shape: rt reaches
/// libcgroups only through this module.
pub mod stats {
    pub use libcgroups::stats::{BlkioDeviceStat, MemoryData, Stats};
}
