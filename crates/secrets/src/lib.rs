//! Access tokens for sync remotes, kept in the OS keyring (the Secret
//! Service on Linux, Keychain on macOS, Credential Manager on Windows).
//!
//! A token is looked up by the remote's URL, at the moment git asks for it,
//! so it is never written to git config, the store's database, logs or a
//! command line. The vault takes its credential builder as a value: the OS
//! one in the binaries, an in-memory one in tests.

use keyring::credential::{CredentialBuilder, CredentialPersistence};

/// The keyring service name every token is filed under.
pub const SERVICE: &str = "almanac";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the OS keyring is not available ({0}). On Linux, Almanac needs a Secret Service \
         (GNOME Keyring or KeePassXC) running in your session."
    )]
    Unavailable(String),
    #[error("the OS keyring refused the token: {0}")]
    Refused(String),
    #[error("this platform has no persistent keyring Almanac can use")]
    NotPersistent,
}

fn classify(e: keyring::Error) -> SecretError {
    match e {
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => {
            SecretError::Unavailable(inner.to_string())
        }
        other => SecretError::Refused(other.to_string()),
    }
}

/// Where tokens live.
pub struct TokenVault {
    builder: Box<CredentialBuilder>,
}

impl TokenVault {
    /// The OS keyring.
    pub fn os() -> TokenVault {
        TokenVault { builder: keyring::default::default_credential_builder() }
    }

    /// A vault over any credential store, e.g. an in-memory one in tests.
    pub fn with_builder(builder: Box<CredentialBuilder>) -> TokenVault {
        TokenVault { builder }
    }

    fn credential(&self, url: &str) -> Result<Box<keyring::credential::Credential>, SecretError> {
        if matches!(self.builder.persistence(), CredentialPersistence::EntryOnly) {
            return Err(SecretError::NotPersistent);
        }
        self.builder.build(None, SERVICE, url).map_err(classify)
    }

    /// Saves (or replaces) the token for the remote at `url`.
    pub fn save(&self, url: &str, token: &str) -> Result<(), SecretError> {
        self.credential(url)?.set_password(token).map_err(classify)
    }

    /// The token for the remote at `url`, if one was saved.
    pub fn token(&self, url: &str) -> Result<Option<String>, SecretError> {
        match self.credential(url)?.get_password() {
            Ok(token) => Ok(Some(token)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    /// Forgets the token for `url`. Returns whether there was one.
    pub fn forget(&self, url: &str) -> Result<bool, SecretError> {
        match self.credential(url)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(classify(e)),
        }
    }
}

/// An in-memory credential store shared by every credential it builds, so
/// a token saved through one lookup is found by the next, as with a real
/// keyring. For tests of the code around the vault.
pub mod memory {
    use std::any::Any;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use keyring::credential::{Credential, CredentialApi, CredentialBuilderApi, CredentialPersistence};

    type Shelf = Arc<Mutex<HashMap<(String, String), Vec<u8>>>>;

    #[derive(Default, Clone)]
    pub struct MemoryKeyring {
        shelf: Shelf,
    }

    impl MemoryKeyring {
        /// Every (service, user) that holds a secret, for assertions.
        pub fn entries(&self) -> Vec<(String, String)> {
            let mut keys: Vec<_> = self.shelf.lock().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect();
            keys.sort();
            keys
        }
    }

    struct Slot {
        shelf: Shelf,
        key: (String, String),
    }

    impl CredentialApi for Slot {
        fn set_secret(&self, secret: &[u8]) -> keyring::Result<()> {
            self.shelf.lock().unwrap_or_else(|p| p.into_inner()).insert(self.key.clone(), secret.to_vec());
            Ok(())
        }

        fn get_secret(&self) -> keyring::Result<Vec<u8>> {
            self.shelf.lock().unwrap_or_else(|p| p.into_inner()).get(&self.key).cloned().ok_or(keyring::Error::NoEntry)
        }

        fn delete_credential(&self) -> keyring::Result<()> {
            self.shelf
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&self.key)
                .map(|_| ())
                .ok_or(keyring::Error::NoEntry)
        }

        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    impl CredentialBuilderApi for MemoryKeyring {
        fn build(&self, _target: Option<&str>, service: &str, user: &str) -> keyring::Result<Box<Credential>> {
            Ok(Box::new(Slot { shelf: self.shelf.clone(), key: (service.into(), user.into()) }))
        }

        fn as_any(&self) -> &dyn Any {
            self
        }

        fn persistence(&self) -> CredentialPersistence {
            CredentialPersistence::ProcessOnly
        }
    }
}

#[cfg(test)]
mod tests {
    use super::memory::MemoryKeyring;
    use super::*;

    #[test]
    fn tokens_are_filed_by_remote_url() {
        let keyring = MemoryKeyring::default();
        let vault = TokenVault::with_builder(Box::new(keyring.clone()));
        let url = "https://git.example.com/team/runs.git";
        assert_eq!(vault.token(url).unwrap(), None);
        vault.save(url, "t0ken").unwrap();
        vault.save(url, "t0ken-2").unwrap();
        assert_eq!(vault.token(url).unwrap().as_deref(), Some("t0ken-2"), "a second login replaces the first");
        assert_eq!(vault.token("https://other.example.com/x.git").unwrap(), None);
        assert_eq!(keyring.entries(), [(SERVICE.to_string(), url.to_string())]);
        assert!(vault.forget(url).unwrap());
        assert!(!vault.forget(url).unwrap());
        assert_eq!(vault.token(url).unwrap(), None);
    }

    #[test]
    fn a_keyring_that_forgets_at_once_is_refused() {
        let vault = TokenVault::with_builder(keyring::mock::default_credential_builder());
        assert!(matches!(vault.save("https://x", "t"), Err(SecretError::NotPersistent)));
    }
}
