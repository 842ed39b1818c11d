//! The configuration loader: TOML text through `vipd::config::parse`
//! (parse, then validate). Any input, UTF-8 or not, must give a config or a
//! list of located errors, never a panic; every error must render.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match vipd::config::parse(&text, "fuzz.toml") {
        Ok(config) => {
            let _ = format!("{config:?}");
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
});
