//! The rustls client configuration of the protocols whose clients take one from us (`mqtts://`,
//! AsyncAPI `wss://`): aws-lc-rs, as the HTTP client, and the system's root certificates.

use std::sync::Arc;

/// Why TLS cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TlsSetupError {
    #[error("no root certificate could be loaded from the system")]
    NoRootCertificates,
    #[error("TLS: {0}")]
    Config(String),
}

pub(crate) fn client_config() -> Result<Arc<rustls::ClientConfig>, TlsSetupError> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(certificate);
    }
    if roots.is_empty() {
        return Err(TlsSetupError::NoRootCertificates);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsSetupError::Config(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
