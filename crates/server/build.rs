//! Injects the version (`git describe`, else the crate version) and the UTC build date.

use std::{path::Path, process::Command, time::SystemTime};

fn main() {
    let crate_version = env!("CARGO_PKG_VERSION");
    let version = git(&["describe", "--tags", "--dirty"])
        .or_else(|| git(&["rev-parse", "--short=10", "HEAD"]).map(|hash| format!("{crate_version}+g{hash}")))
        .unwrap_or_else(|| crate_version.to_owned());
    println!("cargo:rustc-env=FERRUM_VERSION={version}");
    println!("cargo:rustc-env=FERRUM_BUILD_DATE={}", build_date());
    println!("cargo:rerun-if-changed=build.rs");
    for path in ["../../.git/HEAD", "../../.git/refs/heads", "../../.git/refs/tags"] {
        if Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !text.is_empty()).then_some(text)
}

/// Today's UTC date, from SOURCE_DATE_EPOCH when set (reproducible builds), else the clock.
fn build_date() -> String {
    let seconds = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64));
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}
