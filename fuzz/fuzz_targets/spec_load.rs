#![no_main]
//! The spec loader: YAML with positions, the JSON Schema, the semantic checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mqttforge_fuzz::spec(data));
