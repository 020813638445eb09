//! The node directory: where each key, certificate and the database live, how the
//! keys and certificates are created (private keys mode 0600) and loaded. The
//! config file's schema and the database belong to the layers above; this module
//! only names their paths.
//!
//! ```text
//! DIR/config.toml          name, listen address, advertised endpoints, limits
//! DIR/keys/signing.key     Ed25519 seed (hex), 0600 — the node id's private half
//! DIR/tls/node.crt|.key    the node's TLS certificate (P-256), key 0600
//! DIR/ca/ca.crt|.key       the local CA for the agency's users, key 0600
//! DIR/admin/client.crt|.key  the admin certificate the CLI uses, key 0600
//! DIR/db/                  the sled database
//! ```

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use zeroize::Zeroizing;

use super::certs::{self, Role};
use super::error::IdentityError;
use super::node_identity::NodeIdentity;

/// The folders of the node directory that hold private keys (mode 0700).
pub const KEY_FOLDERS: &[&str] = &["keys", "tls", "ca", "admin"];

/// Paths inside a node directory.
#[derive(Debug, Clone)]
pub struct NodeDir {
    pub root: PathBuf,
}

impl NodeDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        NodeDir { root: root.into() }
    }

    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    pub fn signing_key(&self) -> PathBuf {
        self.root.join("keys/signing.key")
    }
    pub fn tls_cert(&self) -> PathBuf {
        self.root.join("tls/node.crt")
    }
    pub fn tls_key(&self) -> PathBuf {
        self.root.join("tls/node.key")
    }
    pub fn ca_cert(&self) -> PathBuf {
        self.root.join("ca/ca.crt")
    }
    pub fn ca_key(&self) -> PathBuf {
        self.root.join("ca/ca.key")
    }
    pub fn admin_cert(&self) -> PathBuf {
        self.root.join("admin/client.crt")
    }
    pub fn admin_key(&self) -> PathBuf {
        self.root.join("admin/client.key")
    }
    pub fn database(&self) -> PathBuf {
        self.root.join("db")
    }
    /// Written by a running node: the address it actually bound.
    pub fn bound_address(&self) -> PathBuf {
        self.root.join("node.addr")
    }
    pub fn audit_log(&self) -> PathBuf {
        self.root.join("audit.log")
    }
    /// Signed log heads seen (ours and partners'), and conflicts between them.
    pub fn heads_file(&self) -> PathBuf {
        self.root.join("heads.json")
    }
    /// The current epoch's private-lookup (VOPRF) key seed, 0600.
    pub fn lookup_key(&self) -> PathBuf {
        self.root.join("keys/lookup.key")
    }

    /// Creates a new node's identity: the signing key, the TLS certificate, the
    /// local CA and the admin client certificate, private keys mode 0600. Refuses
    /// if the directory already holds a node. The database and the config file
    /// are the caller's to add, the config last: its presence marks a complete node.
    pub fn init_identity(&self, agency_name: &str) -> Result<(), IdentityError> {
        if self.config().exists() || self.signing_key().exists() {
            return Err(IdentityError::AlreadyExists(
                self.root.display().to_string(),
            ));
        }
        restrict_directory(&self.root)?;
        self.create_key_folders()?;
        let signing_key = SigningKey::generate(&mut OsRng);
        let tls = certs::node_tls_cert(agency_name)?;
        let ca = certs::local_ca(agency_name)?;
        let admin = certs::issue_client_cert(
            &ca.cert_pem,
            &ca.key_pem,
            &format!("{agency_name} admin"),
            Role::Admin,
        )?;

        let seed_hex = Zeroizing::new(hex::encode(signing_key.to_bytes()));
        write_private(&self.signing_key(), seed_hex.as_bytes())?;
        write_private(&self.tls_key(), tls.key_pem.as_bytes())?;
        write_public(&self.tls_cert(), tls.cert_pem.as_bytes())?;
        write_private(&self.ca_key(), ca.key_pem.as_bytes())?;
        write_public(&self.ca_cert(), ca.cert_pem.as_bytes())?;
        write_private(&self.admin_key(), admin.key_pem.as_bytes())?;
        write_public(&self.admin_cert(), admin.cert_pem.as_bytes())
    }

    /// Creates the folders that hold the private keys (`keys/`, `tls/`, `ca/`,
    /// `admin/`), owner only (0700), tightening any that already exist: `init`
    /// and a restore without keys both leave them ready for the key files.
    pub fn create_key_folders(&self) -> Result<(), IdentityError> {
        for folder in KEY_FOLDERS {
            restrict_directory(&self.root.join(folder))?;
        }
        Ok(())
    }

    /// The text of `config.toml`, with a hint when the directory is not a node's.
    pub fn read_config_text(&self) -> Result<String, IdentityError> {
        let path = self.config();
        fs::read_to_string(&path).map_err(|e| {
            file_error(
                &path,
                &format!(
                    "{e} (is this a node directory? create one with `liaison init --dir {}`)",
                    self.root.display()
                ),
            )
        })
    }

    /// The keys and certificates of the node named `agency_name`.
    pub fn load_identity_named(&self, agency_name: &str) -> Result<NodeIdentity, IdentityError> {
        let seed_path = self.signing_key();
        let seed_hex = Zeroizing::new(read_private(&seed_path)?);
        let seed = Zeroizing::new(
            hex::decode(seed_hex.trim())
                .map_err(|_| file_error(&seed_path, "not a hex Ed25519 seed"))?,
        );
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| file_error(&seed_path, "an Ed25519 seed is 32 bytes"))?;
        Ok(NodeIdentity {
            name: agency_name.to_string(),
            signing_key: SigningKey::from_bytes(&seed),
            tls_cert_der: read_pem_cert(&self.tls_cert())?,
            tls_key_der: read_pem_key(&self.tls_key())?,
            ca_cert_der: read_pem_cert(&self.ca_cert())?,
        })
    }
}

fn file_error(path: &Path, reason: &str) -> IdentityError {
    IdentityError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// The node directory holds keys, the database and the audit log: owner only.
fn restrict_directory(root: &Path) -> Result<(), IdentityError> {
    fs::create_dir_all(root).map_err(|e| file_error(root, &e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(root, fs::Permissions::from_mode(0o700))
            .map_err(|e| file_error(root, &e.to_string()))?;
    }
    Ok(())
}

fn create_parent(path: &Path) -> Result<(), IdentityError> {
    match path.parent() {
        Some(parent) => fs::create_dir_all(parent).map_err(|e| file_error(parent, &e.to_string())),
        None => Ok(()),
    }
}

/// Writes a private key: created with mode 0600, never replacing a file.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), IdentityError> {
    create_parent(path)?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| file_error(path, &e.to_string()))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| file_error(path, &e.to_string()))
}

pub fn write_public(path: &Path, bytes: &[u8]) -> Result<(), IdentityError> {
    create_parent(path)?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| file_error(path, &e.to_string()))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| file_error(path, &e.to_string()))
}

/// Reads a private key file, refusing one that others can read.
fn read_private(path: &Path) -> Result<String, IdentityError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(path).map_err(|e| file_error(path, &e.to_string()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(file_error(
                path,
                "private key is readable by group or others; run `chmod 600` on it",
            ));
        }
    }
    fs::read_to_string(path).map_err(|e| file_error(path, &e.to_string()))
}

pub fn read_pem_cert(path: &Path) -> Result<Vec<u8>, IdentityError> {
    let text = fs::read(path).map_err(|e| file_error(path, &e.to_string()))?;
    CertificateDer::from_pem_slice(&text)
        .map(|cert| cert.to_vec())
        .map_err(|_| file_error(path, "no PEM certificate found"))
}

pub fn read_pem_key(path: &Path) -> Result<Vec<u8>, IdentityError> {
    let text = Zeroizing::new(read_private(path)?);
    PrivatePkcs8KeyDer::from_pem_slice(text.as_bytes())
        .map(|key| key.secret_pkcs8_der().to_vec())
        .map_err(|_| file_error(path, "no PKCS#8 private key found"))
}
