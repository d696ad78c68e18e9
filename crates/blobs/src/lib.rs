//! Content-addressed blobs: `blobs/sha256/ab/abcdef…` under a root folder.
//!
//! A blob is written to a private temporary file while its sha256 is
//! computed, flushed, and only then renamed to its content address. Readers
//! therefore never see a partial blob, an identical file is stored once, and
//! no name a client chooses ever becomes a file-system path: paths are
//! derived from hashes alone, so nothing can be written outside the root.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob store IO error at {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("the upload was cut off or failed: {0}")]
    Source(io::Error),
    #[error("upload is {actual} bytes but {declared} were declared")]
    LengthMismatch { declared: u64, actual: u64 },
    #[error("blob {0} is missing (garbage-collected or never stored)")]
    Missing(String),
    #[error("not a sha256 hex digest: {0:?}")]
    BadDigest(String),
    #[error("{0} is a symbolic link; refusing to follow it")]
    Symlink(PathBuf),
}

pub type Result<T, E = BlobError> = std::result::Result<T, E>;

/// A stored blob: its sha256 (hex) and size in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub sha256: String,
    pub size: u64,
}

pub struct Blobs {
    root: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> BlobError + '_ {
    move |source| BlobError::Io { path: path.to_path_buf(), source }
}

/// Creates `dir` as a real directory; a symlink planted in its place is refused.
fn real_dir(dir: &Path) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => Err(BlobError::Symlink(dir.to_path_buf())),
        Ok(_) => Ok(()),
        Err(_) => fs::create_dir_all(dir).map_err(io_err(dir)),
    }
}

fn valid_digest(sha256: &str) -> Result<()> {
    if sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(BlobError::BadDigest(sha256.to_string()))
    }
}

/// A source of content in chunks; `None` at the end.
pub trait Chunks {
    fn next_chunk(&mut self) -> io::Result<Option<&[u8]>>;
}

/// Any reader, as chunks of up to its buffer's size.
struct ReadChunks<R> {
    inner: R,
    buf: Vec<u8>,
}

impl<R: Read> Chunks for ReadChunks<R> {
    fn next_chunk(&mut self) -> io::Result<Option<&[u8]>> {
        loop {
            match self.inner.read(&mut self.buf) {
                Ok(0) => return Ok(None),
                Ok(n) => return Ok(Some(&self.buf[..n])),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Blobs {
    /// Opens the blob store in `root` (creating `sha256/` and `tmp/`), and
    /// removes temporary files left by uploads that a crash interrupted.
    pub fn open(root: &Path) -> Result<Blobs> {
        real_dir(root)?;
        real_dir(&root.join("sha256"))?;
        let tmp = root.join("tmp");
        real_dir(&tmp)?;
        for entry in fs::read_dir(&tmp).map_err(io_err(&tmp))?.flatten() {
            let _ = fs::remove_file(entry.path());
        }
        Ok(Blobs { root: root.to_path_buf() })
    }

    fn path_of(&self, sha256: &str) -> PathBuf {
        self.root.join("sha256").join(&sha256[..2]).join(sha256)
    }

    /// Streams `content` into the store. With `declared_len`, a body shorter
    /// or longer than declared is refused and nothing is kept.
    pub fn put(&self, content: impl Read, declared_len: Option<u64>, temp_name: &str) -> Result<Blob> {
        self.put_chunks(ReadChunks { inner: content, buf: vec![0u8; 256 * 1024] }, declared_len, temp_name)
    }

    /// Like `put`, for content that arrives as chunks already in memory (a
    /// network body): each is hashed and written where it lies, uncopied.
    pub fn put_chunks(&self, mut content: impl Chunks, declared_len: Option<u64>, temp_name: &str) -> Result<Blob> {
        let tmp_path = self.root.join("tmp").join(temp_name);
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp_path).map_err(io_err(&tmp_path))?;
        let outcome = (|| {
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            while let Some(chunk) = content.next_chunk().map_err(BlobError::Source)? {
                hasher.update(chunk);
                file.write_all(chunk).map_err(io_err(&tmp_path))?;
                size += chunk.len() as u64;
                if let Some(declared) = declared_len
                    && size > declared
                {
                    return Err(BlobError::LengthMismatch { declared, actual: size });
                }
            }
            if let Some(declared) = declared_len
                && size != declared
            {
                return Err(BlobError::LengthMismatch { declared, actual: size });
            }
            file.flush().map_err(io_err(&tmp_path))?;
            Ok(Blob { sha256: hex::encode(hasher.finalize()), size })
        })();
        drop(file);
        let blob = match outcome {
            Ok(b) => b,
            Err(e) => {
                let _ = fs::remove_file(&tmp_path);
                return Err(e);
            }
        };
        let target = self.path_of(&blob.sha256);
        let dir = target.parent().unwrap_or(&self.root);
        if let Err(e) = real_dir(dir) {
            let _ = fs::remove_file(&tmp_path);
            return Err(e);
        }
        if fs::symlink_metadata(&target).is_ok_and(|m| m.is_file() && m.len() == blob.size) {
            // Already stored: identical content is kept once.
            let _ = fs::remove_file(&tmp_path);
        } else {
            // rename() replaces a planted symlink rather than following it.
            fs::rename(&tmp_path, &target).map_err(io_err(&target))?;
        }
        Ok(blob)
    }

    /// Opens a blob for reading. Refuses to follow a symlink planted in the store.
    pub fn open_blob(&self, sha256: &str) -> Result<File> {
        valid_digest(sha256)?;
        let path = self.path_of(sha256);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => return Err(BlobError::Symlink(path)),
            Ok(m) if m.is_file() => {}
            _ => return Err(BlobError::Missing(sha256.to_string())),
        }
        File::open(&path).map_err(io_err(&path))
    }

    pub fn contains(&self, sha256: &str) -> bool {
        valid_digest(sha256).is_ok() && fs::symlink_metadata(self.path_of(sha256)).is_ok_and(|m| m.is_file())
    }

    /// Every stored blob with its size, for garbage collection.
    pub fn list(&self) -> Result<Vec<Blob>> {
        let mut out = Vec::new();
        let top = self.root.join("sha256");
        for shard in fs::read_dir(&top).map_err(io_err(&top))?.flatten() {
            let Ok(entries) = fs::read_dir(shard.path()) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if valid_digest(&name).is_ok()
                    && let Ok(m) = entry.metadata()
                {
                    out.push(Blob { sha256: name, size: m.len() });
                }
            }
        }
        out.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        Ok(out)
    }

    pub fn remove(&self, sha256: &str) -> Result<()> {
        valid_digest(sha256)?;
        let path = self.path_of(sha256);
        fs::remove_file(&path).map_err(io_err(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn store() -> (tempfile::TempDir, Blobs) {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(&dir.path().join("blobs")).unwrap();
        (dir, blobs)
    }

    #[test]
    fn identical_content_is_stored_once() {
        let (_d, b) = store();
        let one = b.put(Cursor::new(b"hello"), Some(5), "t1").unwrap();
        let two = b.put(Cursor::new(b"hello"), None, "t2").unwrap();
        assert_eq!(one, two);
        assert_eq!(one.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(b.list().unwrap().len(), 1);
        let mut text = String::new();
        b.open_blob(&one.sha256).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello");
    }

    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::ConnectionReset, "client went away"))
        }
    }

    #[test]
    fn failed_or_short_uploads_leave_nothing() {
        let (d, b) = store();
        assert!(matches!(b.put(Failing, None, "t"), Err(BlobError::Source(_))));
        assert!(matches!(b.put(Cursor::new(b"abc"), Some(10), "t"), Err(BlobError::LengthMismatch { .. })));
        assert!(matches!(b.put(Cursor::new(b"abcdef"), Some(2), "t"), Err(BlobError::LengthMismatch { .. })));
        assert!(b.list().unwrap().is_empty());
        assert_eq!(fs::read_dir(d.path().join("blobs/tmp")).unwrap().count(), 0);
    }

    #[test]
    fn planted_symlinks_are_not_followed() {
        let (d, b) = store();
        let blob = b.put(Cursor::new(b"x"), None, "t").unwrap();
        let path = b.path_of(&blob.sha256);
        fs::remove_file(&path).unwrap();
        let outside = d.path().join("secret");
        fs::write(&outside, "secret").unwrap();
        std::os::unix::fs::symlink(&outside, &path).unwrap();
        assert!(matches!(b.open_blob(&blob.sha256), Err(BlobError::Symlink(_))));
        // Re-uploading replaces the link and leaves the outside file alone.
        b.put(Cursor::new(b"x"), None, "t").unwrap();
        assert_eq!(fs::read_to_string(&outside).unwrap(), "secret");
        assert!(b.open_blob(&blob.sha256).is_ok());
        assert!(matches!(b.open_blob("../../etc/passwd"), Err(BlobError::BadDigest(_))));
    }
}
