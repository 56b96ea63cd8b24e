//! Any bytes through the loader and the JSON pointer → span mapping.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| planguard::fuzzing::load_and_locate(data));
