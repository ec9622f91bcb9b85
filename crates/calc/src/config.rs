//! The calc module's configuration section (SPEC 1.1, STYLE R6), flattened into `ferrum serve`.

use clap::Args;
use ferrum_platform::config::named;

use crate::limits::DEFAULT_MAX_N;

/// Limits of the calc service.
#[derive(Args, Clone, Debug)]
pub struct CalcConfig {
    /// Largest n NthPrimes answers; larger values are refused with INVALID_ARGUMENT.
    #[arg(
        long = "calc-max-n",
        env = "FERRUM_CALC_MAX_N",
        default_value_t = DEFAULT_MAX_N,
        value_parser = named(parse_max_n)
    )]
    pub max_n: u64,
}

impl Default for CalcConfig {
    fn default() -> Self {
        Self { max_n: DEFAULT_MAX_N }
    }
}

/// A positive whole number; `_` separators and powers of ten (`1e12`) are accepted.
fn parse_max_n(text: &str) -> Result<u64, String> {
    const EXPECTED: &str = "expected a whole number from 1, like 1000000000000, 1_000_000 or 1e12";
    let text = text.trim().replace('_', "");
    let value = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => {
            let mantissa: u64 = mantissa.parse().map_err(|_| EXPECTED.to_string())?;
            let exponent: u32 = exponent.parse().map_err(|_| EXPECTED.to_string())?;
            10u64.checked_pow(exponent).and_then(|power| mantissa.checked_mul(power)).ok_or("too large")?
        }
        None => text.parse().map_err(|_| EXPECTED.to_string())?,
    };
    if value == 0 {
        return Err(EXPECTED.into());
    }
    // Above this the prime code does not answer exactly: refuse it at startup, not per call.
    if value > crate::primes::MAX_N {
        return Err(format!("at most {} (the largest n answered exactly)", crate::primes::MAX_N));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        calc: CalcConfig,
    }

    #[test]
    fn defaults_to_ten_to_the_twelfth() {
        assert_eq!(Cli::try_parse_from(["ferrum"]).unwrap().calc.max_n, 1_000_000_000_000);
        assert_eq!(CalcConfig::default().max_n, 1_000_000_000_000);
    }

    #[test]
    fn reads_plain_separated_and_scientific_numbers() {
        assert_eq!(parse_max_n("5000"), Ok(5000));
        assert_eq!(parse_max_n("1_000_000"), Ok(1_000_000));
        assert_eq!(parse_max_n("1e12"), Ok(1_000_000_000_000));
        assert_eq!(parse_max_n("3E2"), Ok(300));
        assert_eq!(parse_max_n("1e13"), Ok(10_000_000_000_000));
        assert!(parse_max_n("10000000000001").is_err());
        for bad in ["0", "-5", "lots", "1e99", "1.5e3", ""] {
            assert!(parse_max_n(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let error = Cli::try_parse_from(["ferrum", "--calc-max-n", "0"]).unwrap_err();
        assert!(error.to_string().contains("FERRUM_CALC_MAX_N"), "{error}");
        assert_eq!(error.exit_code(), 2);
    }
}
