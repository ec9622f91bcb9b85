//! The interactive session (SPEC 6): `calc> ` prompt, line editing and history on a terminal
//! (rustyline), plain line reading from a pipe so scripts can drive it. Results go to stdout,
//! errors to stderr, one line each; a bad line is not sent and the session goes on.

use std::io::{self, BufRead, IsTerminal};

use rustyline::{DefaultEditor, error::ReadlineError};

use crate::{
    client::Calc,
    command::{self, Command, HELP},
};

/// The prompt shown on a terminal.
pub(crate) const PROMPT: &str = "calc> ";

/// Reads commands until `exit` or the end of input. Lines are read on this thread: the
/// session does one thing at a time, and the connection's task runs whenever a call awaits.
pub(crate) async fn run(calc: &mut Calc) -> io::Result<()> {
    let mut lines = Lines::open()?;
    while let Some(line) = lines.next()? {
        match command::parse(&line) {
            Ok(None) => {}
            Ok(Some(Command::Exit)) => break,
            Ok(Some(Command::Help)) => println!("{HELP}"),
            Ok(Some(command)) => match calc.run(command).await {
                Ok(answer) => println!("{answer}"),
                Err(message) => eprintln!("error: {message}"),
            },
            Err(usage) => eprintln!("error: {usage}"),
        }
    }
    Ok(())
}

/// Where lines come from.
enum Lines {
    /// A terminal: editing, history, the prompt.
    Terminal(Box<DefaultEditor>),
    /// A pipe or file: plain lines, no prompt in the output.
    Plain(io::StdinLock<'static>),
}

impl Lines {
    fn open() -> io::Result<Self> {
        if !io::stdin().is_terminal() {
            return Ok(Self::Plain(io::stdin().lock()));
        }
        let editor = DefaultEditor::new().map_err(io::Error::other)?;
        Ok(Self::Terminal(Box::new(editor)))
    }

    /// The next line, `None` at the end of input.
    fn next(&mut self) -> io::Result<Option<String>> {
        match self {
            Self::Plain(stdin) => {
                let mut line = String::new();
                Ok((stdin.read_line(&mut line)? > 0).then_some(line))
            }
            Self::Terminal(editor) => loop {
                match editor.readline(PROMPT) {
                    Ok(line) => {
                        if !line.trim().is_empty() {
                            let _ = editor.add_history_entry(line.as_str());
                        }
                        return Ok(Some(line));
                    }
                    // Ctrl-C abandons the line being typed, as in a shell.
                    Err(ReadlineError::Interrupted) => continue,
                    Err(ReadlineError::Eof) => return Ok(None),
                    Err(error) => return Err(io::Error::other(error)),
                }
            },
        }
    }
}
