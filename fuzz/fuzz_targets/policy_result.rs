//! Any policy result value decoded into a diagnostic on any document.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| planguard::fuzzing::decode_policy_result(data));
