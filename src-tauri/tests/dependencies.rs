//! What the app carries: the command-line tool's dependencies are the engine's `cli` feature,
//! which the app turns off, so no build of the app (desktop or phone) links them.

use std::process::Command;

#[test]
fn the_app_does_not_depend_on_the_command_line_tools_crates() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "--locked", "-p", "murmur", "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(tree.lines().any(|l| l.starts_with("murmur-engine ")), "the engine is a dependency:\n{tree}");
    let cli_crates: Vec<&str> = tree.lines().filter(|l| ["clap ", "indicatif ", "ctrlc "].iter().any(|c| l.starts_with(c))).collect();
    assert!(cli_crates.is_empty(), "the app links the CLI's crates: {cli_crates:?}");
}
