// Mobile sources: android/ (Kotlin) and ios/ (Swift package); desktop builds compile only Rust.
const COMMANDS: &[&str] = &["request_microphone", "exclude_from_backup"];

fn main() {
    tauri_plugin::Builder::new(COMMANDS).android_path("android").ios_path("ios").build();
}
