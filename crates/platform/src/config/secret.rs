//! A value that never shows itself in logs, `Debug` output or `ferrum config`.

use std::{fmt, str::FromStr};

use url::Url;

/// What is shown in place of a secret.
pub const MASK: &str = "********";

/// Wraps a secret (a key, a password, a URL with a password) so printing it masks it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The real value, for the one place that needs it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl fmt::Debug for Secret<String> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{MASK}\"")
    }
}

impl Secret<Url> {
    /// The URL with its password, if any, as `********`: everything else stays visible, since an
    /// operator needs the host to debug.
    pub fn masked(&self) -> Url {
        let mut shown = self.0.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some(MASK));
        }
        shown
    }
}

impl fmt::Debug for Secret<Url> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.masked())
    }
}

impl FromStr for Secret<String> {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_strings_and_url_passwords() {
        assert_eq!(format!("{:?}", Secret::new("hunter2".to_string())), "\"********\"");
        let url = Url::parse("postgres://app:hunter2@db:5432/ferrum").unwrap();
        let shown = format!("{:?}", Secret::new(url));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("app:********@db:5432/ferrum"), "{shown}");
    }
}
