//! `ferrum token`: mint a token with the configured key, for operators and scripts.

use std::process::ExitCode;

use ferrum_platform::auth::AuthKeys;

use crate::config::TokenArgs;

/// Prints the token on stdout; exits 1, printing nothing there, when it cannot be signed.
pub fn token(args: &TokenArgs) -> ExitCode {
    if let Err(message) = args.auth.check() {
        return super::config_error(&message);
    }
    let scopes: Vec<&str> = args.scopes.iter().flat_map(|s| s.split_whitespace()).collect();
    let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
    let keys = AuthKeys::new(&args.auth);
    match keys.mint(args.sub.clone(), args.admin, scope, args.ttl) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
