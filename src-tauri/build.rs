// The app's own commands go through Tauri's ACL like plugin commands: each gets an
// `allow-<name>` permission, which capabilities/ must grant (a test checks that every command
// has one).
include!("src/commands/list.rs");

fn main() {
    let attributes = tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(APP_COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri-build: {e:#}");
    }
}
