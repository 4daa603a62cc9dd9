#![no_main]
//! `audit --kind sysctl`: the sysctl file reader.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mqttforge_fuzz::audit(
    "sysctl",
    "99-mqttforge.conf",
    data
));
