//! One line of the calc session, parsed: pure, so every rule is unit-tested. A line that does
//! not parse is never sent (SPEC 6: errors name the bad argument and send nothing).

use std::fmt;

/// What a line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// `add a b`.
    Add(i64, i64),
    /// `max a b`.
    Max(i64, i64),
    /// `np n [n...]`.
    NthPrimes(Vec<u64>),
    /// `help`.
    Help,
    /// `exit`.
    Exit,
}

/// Why a line was refused, in one line naming the bad argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The commands and what they do, as `help` prints them.
pub(crate) const HELP: &str = "\
add a b        the sum of two 64-bit integers
max a b        the larger of two 64-bit integers
np n [n...]    the nth prime of each n, 1-based (np 2 12 prints 3 37)
help           this list
exit           end the session (so does end of input)";

/// The command in `line` (words split on any whitespace), `Ok(None)` for a blank line.
pub(crate) fn parse(line: &str) -> Result<Option<Command>, UsageError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    parse_words(&words)
}

/// The command `words` spell (one-shot mode passes the process arguments here).
pub(crate) fn parse_words<S: AsRef<str>>(words: &[S]) -> Result<Option<Command>, UsageError> {
    let Some((name, args)) = words.split_first() else { return Ok(None) };
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let command = match name.as_ref().to_ascii_lowercase().as_str() {
        "add" => {
            let (a, b) = two_integers("add", &args)?;
            Command::Add(a, b)
        }
        "max" => {
            let (a, b) = two_integers("max", &args)?;
            Command::Max(a, b)
        }
        "np" => Command::NthPrimes(positions(&args)?),
        "help" => no_arguments("help", &args, Command::Help)?,
        "exit" => no_arguments("exit", &args, Command::Exit)?,
        other => return Err(UsageError(format!("unknown command `{other}`: try help"))),
    };
    Ok(Some(command))
}

fn two_integers(name: &str, args: &[&str]) -> Result<(i64, i64), UsageError> {
    let [a, b] = args else {
        return Err(UsageError(format!("{name} takes two integers ({name} a b), got {}", args.len())));
    };
    let integer = |text: &str| {
        text.parse::<i64>().map_err(|_| UsageError(format!("{name}: `{text}` is not an integer from -2^63 to 2^63-1")))
    };
    Ok((integer(a)?, integer(b)?))
}

fn positions(args: &[&str]) -> Result<Vec<u64>, UsageError> {
    if args.is_empty() {
        return Err(UsageError("np takes at least one n (np n [n...])".into()));
    }
    args.iter()
        .map(|text| match text.parse::<u64>() {
            Ok(0) => Err(UsageError("np: `0` is not a position: the first prime is n = 1".into())),
            Ok(n) => Ok(n),
            Err(_) => Err(UsageError(format!("np: `{text}` is not a whole number from 1"))),
        })
        .collect()
}

fn no_arguments(name: &str, args: &[&str], command: Command) -> Result<Command, UsageError> {
    match args.first() {
        None => Ok(command),
        Some(extra) => Err(UsageError(format!("{name} takes no arguments, got `{extra}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(line: &str) -> String {
        parse(line).unwrap_err().to_string()
    }

    #[test]
    fn reads_each_command_split_on_any_whitespace() {
        assert_eq!(parse("add 2 5"), Ok(Some(Command::Add(2, 5))));
        assert_eq!(parse("  add\t-2 \t 5  "), Ok(Some(Command::Add(-2, 5))));
        assert_eq!(parse("max 3 -4"), Ok(Some(Command::Max(3, -4))));
        assert_eq!(parse("np 2 12 2"), Ok(Some(Command::NthPrimes(vec![2, 12, 2]))));
        assert_eq!(parse("help"), Ok(Some(Command::Help)));
        assert_eq!(parse("exit"), Ok(Some(Command::Exit)));
        assert_eq!(parse("ADD 1 1"), Ok(Some(Command::Add(1, 1))));
        assert_eq!(parse("   "), Ok(None));
        assert_eq!(parse(""), Ok(None));
    }

    #[test]
    fn takes_the_whole_64_bit_range() {
        assert_eq!(parse("add -9223372036854775808 9223372036854775807"), Ok(Some(Command::Add(i64::MIN, i64::MAX))));
        assert_eq!(parse("np 18446744073709551615"), Ok(Some(Command::NthPrimes(vec![u64::MAX]))));
    }

    #[test]
    fn names_the_bad_argument() {
        assert!(error("add 1 x").contains("`x`"));
        assert!(error("add y 1").contains("`y`"));
        assert!(error("max 1 9223372036854775808").contains("`9223372036854775808`"));
        assert!(error("np 3 -1 4").contains("`-1`"));
        assert!(error("np 3 0").contains("`0`"));
        assert!(error("np 1.5").contains("`1.5`"));
        assert!(error("frobnicate 1").contains("`frobnicate`"));
        assert!(error("exit now").contains("`now`"));
    }

    #[test]
    fn says_how_many_arguments_a_command_takes() {
        assert_eq!(error("add 1"), "add takes two integers (add a b), got 1");
        assert_eq!(error("max 1 2 3"), "max takes two integers (max a b), got 3");
        assert_eq!(error("np"), "np takes at least one n (np n [n...])");
    }

    #[test]
    fn one_shot_words_parse_the_same_way() {
        assert_eq!(parse_words(&["np", "2", "12"]), Ok(Some(Command::NthPrimes(vec![2, 12]))));
        assert_eq!(parse_words::<&str>(&[]), Ok(None));
    }
}
