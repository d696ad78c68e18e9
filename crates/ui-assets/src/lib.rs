//! The review UI's files, built from `ui/` by this crate's build script and
//! embedded, so one `almanac` binary carries its UI. The server and the
//! desktop shell serve them from here.

/// One built file of the UI.
#[derive(Debug)]
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    /// The same bytes, gzip-compressed, for clients that accept it.
    pub gzip: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The file named `name` (`index.html`, `ui_bg.wasm`, ...), if the UI has one.
pub fn asset(name: &str) -> Option<&'static Asset> {
    FILES.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_ui_is_embedded_whole() {
        let index = asset("index.html").expect("index.html is embedded");
        assert!(std::str::from_utf8(index.bytes).unwrap().contains("assets/ui.js"));
        let wasm = asset("ui_bg.wasm").expect("the wasm is embedded");
        assert_eq!(&wasm.bytes[..4], b"\0asm");
        assert!(wasm.gzip.len() < wasm.bytes.len());
        assert!(asset("../secret").is_none());
    }
}
