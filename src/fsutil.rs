//! File-system helpers: writing a file so that no reader ever sees half of it
//! (`--output` reports, the cache).

use std::io::Write;
use std::path::Path;

/// Whether a write waits for the disk before the rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Synced first: after a crash the file is the old one or the whole new
    /// one (reports a later step reads).
    Synced,
    /// Not synced: a crash can leave the file empty, so only for what is
    /// checked when read and can be made again (the cache, where an
    /// unreadable entry is a miss). A sync per entry would cost a cold run
    /// about a millisecond per file.
    Unsynced,
}

/// Write `bytes` to `path` atomically: into a temporary file beside it (named
/// uniquely per writer, so concurrent runs never share one), then renamed
/// over `path`, so a reader sees the old file or the new one and never a
/// part. The folder is created when missing. On failure nothing is left
/// behind: the temporary file is removed with it.
pub fn write_atomically(path: &Path, bytes: &[u8], durability: Durability) -> std::io::Result<()> {
    write_atomically_with(path, durability, |file| file.write_all(bytes))
}

/// [`write_atomically`], the content written by `write` (buffered): for
/// content too large to assemble in memory first.
pub fn write_atomically_with(
    path: &Path,
    durability: Durability,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?;
    std::fs::create_dir_all(folder)?;
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // What creating the file directly gives (0666 less the umask), not a
    // temporary file's owner-only mode: the result is an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temporary = builder.tempfile_in(folder)?;
    {
        let mut buffered = std::io::BufWriter::new(temporary.as_file_mut());
        write(&mut buffered)?;
        buffered.flush()?;
    }
    if durability == Durability::Synced {
        temporary.as_file().sync_all()?;
    }
    temporary.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names in `folder`, sorted.
    fn listing(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_and_replaces_leaving_only_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("reports/out.json");
        write_atomically(&path, b"first", Durability::Synced).expect("write");
        write_atomically(&path, b"second", Durability::Unsynced).expect("replace");
        assert_eq!(std::fs::read(&path).expect("read"), b"second");
        assert_eq!(listing(&dir.path().join("reports")), ["out.json"]);
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A folder where the file should go: the rename over it fails.
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).expect("mkdir");
        assert!(write_atomically(&path, b"report", Durability::Synced).is_err());
        assert_eq!(listing(dir.path()), ["taken"]);
        assert!(path.is_dir());
    }

    #[cfg(unix)]
    #[test]
    fn the_file_gets_the_mode_a_plain_write_gives() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"x").expect("write");
        let atomic = dir.path().join("atomic");
        write_atomically(&atomic, b"x", Durability::Synced).expect("write");
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode();
        assert_eq!(mode(&atomic), mode(&plain));
    }
}
