//! Almanac's review UI: Yew components compiled to wasm, served by
//! `almanac serve` at `/` and shown by the desktop shell.
//!
//! Pure parts (routes, table layout, columns, formatting) are plain modules
//! tested natively; components only wire them to the DOM and the server.

pub mod api;
pub mod columns;
pub mod desktop_status;
pub mod format;
pub mod layout;
pub mod markdown;
pub mod preview;
pub mod route;
pub mod spans;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod artifacts;
#[cfg(target_arch = "wasm32")]
mod charts;
#[cfg(target_arch = "wasm32")]
mod compare;
#[cfg(target_arch = "wasm32")]
mod desktop;
#[cfg(target_arch = "wasm32")]
mod dom;
#[cfg(target_arch = "wasm32")]
mod registry;
#[cfg(target_arch = "wasm32")]
mod run_page;
#[cfg(target_arch = "wasm32")]
mod sidebar;
#[cfg(target_arch = "wasm32")]
mod table;
#[cfg(target_arch = "wasm32")]
mod traces;
#[cfg(target_arch = "wasm32")]
mod widgets;

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<app::App>::new().render();
}
