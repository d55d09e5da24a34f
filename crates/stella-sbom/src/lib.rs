//! The SBOM side of Stella Ops: Package URLs, CPE 2.3 names, and (to come) the SBOM model
//! with its CycloneDX and SPDX readers and writers.

pub mod cpe;
pub mod cyclonedx;
pub mod model;
pub mod purl;

pub use cpe::Cpe;
pub use purl::Purl;
