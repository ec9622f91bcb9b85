//! `ferrum-cli calc ...`, `ferrum-cli help` and `ferrum-cli` alone.

use crate::{Server, ferrum_cli};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shot_commands_print_their_result() {
    let server = Server::start(&[]).await;
    let address = server.address.as_str();
    for (words, expected) in [
        (vec!["add", "2", "5"], "7\n"),
        (vec!["add", "-3", "-4"], "-7\n"),
        (vec!["max", "2", "5"], "5\n"),
        (vec!["np", "2", "12"], "3 37\n"),
    ] {
        let mut args = vec!["calc", "--address", address];
        args.extend(&words);
        let run = ferrum_cli(&args, &[], "").await;
        assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (Some(0), expected, ""), "{words:?}");
    }
    let run = ferrum_cli(&["calc", "add", "2", "5"], &[("FERRUM_CALC_ADDRESS", address)], "").await;
    assert_eq!(run.stdout, "7\n", "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shot_errors_set_the_exit_status() {
    let server = Server::start(&[]).await;
    let address = server.address.as_str();
    let refused = ferrum_cli(&["calc", "--address", address, "add", "9223372036854775807", "1"], &[], "").await;
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(refused.stderr.contains("9223372036854775807 + 1"), "{refused:?}");
    // A bad argument is a usage error, found before connecting: status 2, nothing sent.
    for (words, named) in [(vec!["add", "1", "x"], "`x`"), (vec!["np"], "np takes"), (vec!["exit"], "add, max or np")] {
        let mut args = vec!["calc", "--address", "127.0.0.1:1"];
        args.extend(&words);
        let run = ferrum_cli(&args, &[], "").await;
        assert_eq!(run.code, Some(2), "{words:?}: {run:?}");
        assert!(run.stderr.contains(named) && run.stderr.lines().count() == 1, "{words:?}: {run:?}");
    }
}

#[tokio::test]
async fn help_and_no_arguments_print_the_usage() {
    let help = ferrum_cli(&["help"], &[], "").await;
    assert_eq!(help.code, Some(0), "{help:?}");
    for word in ["Usage: ferrum-cli", "connect", "calc", "Exit status"] {
        assert!(help.stdout.contains(word), "help lacks {word}: {help:?}");
    }
    let bare = ferrum_cli(&[], &[], "").await;
    assert_eq!(bare.code, Some(2), "{bare:?}");
    assert_eq!(bare.stdout, help.stdout, "no arguments prints the same usage");
    let calc_help = ferrum_cli(&["help", "calc"], &[], "").await;
    assert!(calc_help.stdout.contains("add a b"), "{calc_help:?}");
}
