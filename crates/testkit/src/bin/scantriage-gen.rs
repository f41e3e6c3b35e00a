//! `scantriage-gen`: writes a deterministic, labelled nginx access log to standard output.

use scantriage_testkit::{generate, write_labels, CorpusConfig};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

const USAGE: &str = "\
usage: scantriage-gen [--lines N] [--seed S] [--wave] [--labels FILE] [--start UNIX] [--span SECS] > access.log

Writes the access log of a WordPress blog on nginx (combined format) with readers,
crawlers, feed readers, scanners, exploit kits, brute force and junk. The same
options always give the same bytes.

  --lines N      number of lines (default 1000000)
  --seed S       seed of the generator (default 1)
  --wave         from the middle on, add a new exploit wave and a new popular post
  --labels FILE  write one JSON object per source: {\"ip\": ..., \"role\": ...}
  --start UNIX   unix time of the first second (default 1762124400, 2025-11-03T00:00:00+01:00)
  --span SECS    seconds the log covers (default 259200, three days)
";

fn parse_args() -> Result<Option<(CorpusConfig, Option<String>)>, String> {
    let mut cfg = CorpusConfig::default();
    let mut labels = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs {what}"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--wave" => cfg.wave = true,
            "--lines" => cfg.lines = number(&name, &value("a number")?)?,
            "--seed" => cfg.seed = number(&name, &value("a number")?)?,
            "--start" => cfg.start_unix = number(&name, &value("a unix time")?)?,
            "--span" => {
                cfg.span_secs = number(&name, &value("a number of seconds")?)?;
                if cfg.span_secs <= 0 {
                    return Err("--span must be positive".into());
                }
            }
            "--labels" => labels = Some(value("a file name")?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some((cfg, labels)))
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.replace('_', "")
        .parse()
        .map_err(|_| format!("{name}: not a number: {v:?}"))
}

fn run(cfg: &CorpusConfig, labels_path: Option<&str>) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let labels = generate(cfg, &mut out)?;
    out.flush()?;
    if let Some(path) = labels_path {
        let mut f = BufWriter::new(File::create(path)?);
        write_labels(&labels, &mut f)?;
        f.flush()?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let (cfg, labels) = match parse_args() {
        Ok(Some(v)) => v,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("scantriage-gen: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&cfg, labels.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scantriage-gen: {e}");
            ExitCode::FAILURE
        }
    }
}
