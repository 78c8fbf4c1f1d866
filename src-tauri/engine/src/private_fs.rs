//! Files and folders only their owner may read: the settings, the history and its KV-cache
//! files hold health information. On Unix (desktops; phones sandbox each app anyway) folders
//! are made `0700` and files `0600`, whatever the umask; elsewhere the platform's defaults
//! (per-user folders) apply.

use std::fs::{DirBuilder, OpenOptions};
use std::io;
use std::path::Path;

/// Creates `dir` and any missing parents, each new one owner-only. An existing `dir` that
/// others may read or enter is made owner-only too (an app data folder made by an older
/// version, or by a launcher); existing parents are left as they are.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    Ok(())
}

/// Options that create (or truncate) a file for writing, owner-only when it is created.
pub fn new_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn new_folders_and_files_are_owner_only_and_an_open_folder_is_closed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let nested = tmp.path().join("a/b");
        create_dir(&nested).expect("create");
        assert_eq!(mode(&nested), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).expect("mkdir");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        create_dir(&open).expect("again");
        assert_eq!(mode(&open), 0o700, "an existing folder others could read");
        let file = nested.join("f");
        new_file().open(&file).expect("file");
        assert_eq!(mode(&file), 0o600);
    }
}
