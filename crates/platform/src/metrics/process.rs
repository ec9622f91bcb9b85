//! The standard `process_*` series, read from the OS (on Linux, /proc) at scrape time.
//!
//! `metrics-process` does the reading; its own exporter is not used because the `metrics`
//! facade's counters are whole numbers, which would cut CPU seconds down to whole seconds.
//! So the lines are written here, in the text format, after the registry's.

use std::fmt::Write as _;

/// Appends the process series to `text`; a value the OS does not give is left out.
pub(super) fn render(text: &mut String) {
    let now = metrics_process::collector::collect();
    let mut put = |name: &str, kind: &str, help: &str, value: Option<f64>| {
        if let Some(value) = value {
            // Writing to a String cannot fail.
            let _ = write!(text, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n\n");
        }
    };
    let cpu = "Total user and system CPU time spent in seconds.";
    put("process_cpu_seconds_total", "counter", cpu, now.cpu_seconds_total);
    let rss = "Resident memory size in bytes.";
    put("process_resident_memory_bytes", "gauge", rss, now.resident_memory_bytes.map(as_f64));
    let vsz = "Virtual memory size in bytes.";
    put("process_virtual_memory_bytes", "gauge", vsz, now.virtual_memory_bytes.map(as_f64));
    put("process_open_fds", "gauge", "Number of open file descriptors.", now.open_fds.map(as_f64));
    let max_fds = "Maximum number of open file descriptors (0: unlimited).";
    put("process_max_fds", "gauge", max_fds, now.max_fds.map(as_f64));
    let start = "Start time of the process since the Unix epoch in seconds.";
    put("process_start_time_seconds", "gauge", start, now.start_time_seconds.map(as_f64));
    put("process_threads", "gauge", "Number of OS threads in the process.", now.threads.map(as_f64));
}

fn as_f64(value: u64) -> f64 {
    value as f64
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let mut text = String::new();
        super::render(&mut text);
        for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds"] {
            assert!(text.contains(&format!("# TYPE {name} ")), "{name} missing from {text}");
        }
        let start = text.lines().find_map(|l| l.strip_prefix("process_start_time_seconds ")).unwrap();
        assert!(start.parse::<f64>().unwrap() > 1.6e9, "{start}");
    }
}
