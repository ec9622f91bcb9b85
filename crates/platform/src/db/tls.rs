//! TLS to PostgreSQL with libpq's `sslmode` meanings, which managed databases document:
//!
//! - `disable`: plain TCP.
//! - `prefer` (the default) and `require`: encrypted (`prefer` falls back to plain when the
//!   server offers no TLS); the certificate is checked against `sslrootcert` when one is
//!   given, and not checked otherwise, as libpq does.
//! - `verify-ca`: the certificate must chain to `sslrootcert` (or to the public web roots).
//! - `verify-full`: as `verify-ca`, and it must name the host connected to.
//!
//! tokio-postgres itself reads only `disable`, `prefer` and `require`, and no `sslrootcert`;
//! [`client_config`] takes those two out of the URL and applies them here.

use std::sync::Arc;

use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
    client::{
        WebPkiServerVerifier,
        danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    },
    crypto::WebPkiSupportedAlgorithms,
    pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject},
};
use tokio_postgres::config::SslMode;
use url::Url;

use super::Error;

/// How the server's certificate is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    /// Not at all (encryption only).
    Nothing,
    /// It chains to a trusted root.
    Chain,
    /// It chains to a trusted root and names the host.
    ChainAndName,
}

/// The driver's configuration and the TLS client for `url`.
pub(super) fn client_config(url: &Url) -> Result<(tokio_postgres::Config, ClientConfig), Error> {
    let mut sslmode = None;
    let mut root_cert = None;
    let mut rest = url.clone();
    rest.query_pairs_mut().clear();
    for (key, value) in url.query_pairs() {
        match &*key {
            "sslmode" => sslmode = Some(value.into_owned()),
            "sslrootcert" => root_cert = Some(value.into_owned()),
            _ => {
                rest.query_pairs_mut().append_pair(&key, &value);
            }
        }
    }
    if rest.query() == Some("") {
        rest.set_query(None);
    }
    let (mode, check) = match sslmode.as_deref().unwrap_or("prefer") {
        "disable" => (SslMode::Disable, Check::Nothing),
        "allow" | "prefer" => (SslMode::Prefer, if root_cert.is_some() { Check::Chain } else { Check::Nothing }),
        "require" => (SslMode::Require, if root_cert.is_some() { Check::Chain } else { Check::Nothing }),
        "verify-ca" => (SslMode::Require, Check::Chain),
        "verify-full" => (SslMode::Require, Check::ChainAndName),
        other => return Err(Error::Other(format!("unknown sslmode {other:?} in the database URL").into())),
    };
    let mut config: tokio_postgres::Config =
        rest.as_str().parse().map_err(|e| Error::Other(format!("invalid database URL: {e}").into()))?;
    config.ssl_mode(mode);
    Ok((config, tls_config(check, root_cert.as_deref())?))
}

fn tls_config(check: Check, root_cert: Option<&str>) -> Result<ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Other(format!("TLS setup: {e}").into()))?;
    let config = match check {
        Check::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(provider.signature_verification_algorithms)))
            .with_no_client_auth(),
        Check::Chain | Check::ChainAndName => {
            let roots = Arc::new(roots(root_cert)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| Error::Other(format!("TLS setup: {e}").into()))?;
            if check == Check::Chain {
                builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyName(webpki))).with_no_client_auth()
            } else {
                builder.with_webpki_verifier(webpki).with_no_client_auth()
            }
        }
    };
    Ok(config)
}

/// The certificates of `sslrootcert`, or the public web roots when none is named.
fn roots(root_cert: Option<&str>) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let unreadable = |e: &dyn std::fmt::Display| Error::Other(format!("sslrootcert {path}: {e}").into());
            for certificate in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
                roots.add(certificate.map_err(|e| unreadable(&e))?).map_err(|e| unreadable(&e))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(roots)
}

/// Checks signatures but not the certificate: libpq's `prefer` and `require` without a root.
#[derive(Debug)]
struct Unchecked(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// The web PKI's checks less the host name: libpq's `verify-ca`.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError as C, Error as E};
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> (tokio_postgres::Config, ClientConfig) {
        client_config(&Url::parse(url).unwrap()).unwrap()
    }

    #[test]
    fn reads_libpq_ssl_modes_out_of_the_url() {
        let (config, _) = split("postgres://u@h:5433/db?sslmode=verify-full&application_name=x");
        assert_eq!(config.get_ssl_mode(), SslMode::Require);
        assert_eq!(config.get_application_name(), Some("x"));
        assert_eq!(config.get_dbname(), Some("db"));
        assert_eq!(split("postgres://u@h/db").0.get_ssl_mode(), SslMode::Prefer);
        assert_eq!(split("postgres://u@h/db?sslmode=disable").0.get_ssl_mode(), SslMode::Disable);
        let unknown = client_config(&Url::parse("postgres://u@h/db?sslmode=sometimes").unwrap()).unwrap_err();
        assert!(unknown.to_string().contains("sslmode"), "{unknown}");
        let empty = "postgres://u@h/db?sslmode=verify-ca&sslrootcert=/dev/null";
        let no_root = client_config(&Url::parse(empty).unwrap()).unwrap_err();
        assert!(no_root.to_string().contains("root"), "{no_root}");
    }
}
