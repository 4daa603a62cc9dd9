//! The file system as mqttforge writes it: every output path opened
//! relative to an output root without following symbolic links ([`root`]),
//! and the owners and groups files get as installed ([`owner`]). The bottom
//! layer: apply, the PKI and render's tree writer all write through it.

pub mod owner;
pub mod root;
