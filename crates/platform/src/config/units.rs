//! Value parsers for human durations and sizes, and the wrapper that names the variable in errors.

use std::{ffi::OsStr, time::Duration};

use clap::{
    Arg, Command, ValueEnum,
    builder::{PossibleValue, TypedValueParser},
    error::ErrorKind,
};

/// A duration: humantime (`3s`, `500ms`, `1m`, `1h 30m`), or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).map_err(|_| "expected a non-negative duration".into());
    }
    humantime::parse_duration(text).map_err(|_| "expected a duration like 3s, 500ms or 1m".into())
}

/// A byte size: plain bytes, or a number with B, KB, KiB, MB, MiB, GB or GiB (any case).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number.parse().map_err(|_| "expected a size like 1MiB, 512KiB or 1048576".to_string())?;
    let scale: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        _ => return Err("expected a size like 1MiB, 512KiB or 1048576".into()),
    };
    number.checked_mul(scale).ok_or_else(|| "size too large".into())
}

/// Wraps a parse function so that a bad value is reported naming its environment variable and
/// flag (clap alone names only the flag, which is not what an operator set).
pub fn named<T>(parse: fn(&str) -> Result<T, String>) -> NamedParser<T> {
    NamedParser(parse)
}

/// See [`named`].
#[derive(Clone, Debug)]
pub struct NamedParser<T>(fn(&str) -> Result<T, String>);

impl<T: Clone + Send + Sync + 'static> TypedValueParser for NamedParser<T> {
    type Value = T;

    fn parse_ref(&self, cmd: &Command, arg: Option<&Arg>, value: &OsStr) -> Result<T, clap::Error> {
        parse_named(cmd, arg, value, self.0)
    }
}

/// `parse`'s value of `value`, or its complaint as one line naming the variable and flag.
fn parse_named<V>(
    cmd: &Command,
    arg: Option<&Arg>,
    value: &OsStr,
    parse: impl FnOnce(&str) -> Result<V, String>,
) -> Result<V, clap::Error> {
    let name = arg.map_or_else(String::new, describe);
    let text = value.to_str().ok_or_else(|| {
        clap::Error::raw(ErrorKind::InvalidUtf8, format!("invalid {name}: not UTF-8\n")).with_cmd(cmd)
    })?;
    parse(text).map_err(|why| {
        clap::Error::raw(ErrorKind::ValueValidation, format!("invalid {name} `{text}`: {why}\n")).with_cmd(cmd)
    })
}

/// [`named`] for a closed set of values: a bad one is reported on one line naming the variable
/// and the values it takes (clap's own message spans four lines and names only the flag).
pub fn named_choice<T: ValueEnum + Clone + Send + Sync + 'static>() -> NamedChoice<T> {
    NamedChoice(std::marker::PhantomData)
}

/// See [`named_choice`].
#[derive(Clone, Debug)]
pub struct NamedChoice<T>(std::marker::PhantomData<T>);

impl<T: ValueEnum + Clone + Send + Sync + 'static> TypedValueParser for NamedChoice<T> {
    type Value = T;

    fn parse_ref(&self, cmd: &Command, arg: Option<&Arg>, value: &OsStr) -> Result<T, clap::Error> {
        let parse = |text: &str| {
            T::from_str(text, true).map_err(|_| {
                let names = self.possible_values().into_iter().flatten().map(|choice| choice.get_name().to_owned());
                format!("expected one of {}", names.collect::<Vec<_>>().join(", "))
            })
        };
        parse_named(cmd, arg, value, parse)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(T::value_variants().iter().filter_map(ValueEnum::to_possible_value)))
    }
}

fn describe(arg: &Arg) -> String {
    let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
    match (env, arg.get_long()) {
        (Some(env), Some(long)) => format!("{env} (--{long})"),
        (Some(env), None) => env,
        (None, Some(long)) => format!("--{long}"),
        (None, None) => arg.get_id().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("0.25"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("2 kb"), Ok(2000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("1 PiB").is_err());
        assert!(parse_size("99999999999999999999GiB").is_err());
    }
}
