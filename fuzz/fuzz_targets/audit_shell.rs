#![no_main]
//! `audit --kind shell`: the backup and restore script reader.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mqttforge_fuzz::audit("shell", "backup.sh", data));
