//! The `tenzor` command: convert, info, verify, get, append and compact.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tenzor::{ConvertOptions, TensorFile};

/// Convert, list and verify tensor files (.tenzor, .safetensors).
#[derive(Parser)]
#[command(name = "tenzor", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Convert between .safetensors, .gguf and .tenzor (input format from content,
    /// output format from the extension of OUT).
    Convert {
        /// Input file.
        input: PathBuf,
        /// Output file (.tenzor, .safetensors or .gguf).
        #[arg(short, long)]
        output: PathBuf,
        /// Per-tensor alignment of a .tenzor output (64..65536, power of two).
        #[arg(long, value_name = "N")]
        align: Option<u64>,
        /// Write a .tenzor shard set with shards of at most SIZE data bytes
        /// (e.g. 2GB, 500MB, 1GiB, 4096).
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_shard_size: Option<u64>,
        /// Never show a progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Show the header, metadata and tensor table of a file.
    Info {
        /// File to describe.
        file: PathBuf,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
        /// How to read it: auto, mmap, read or direct (the choice and its
        /// reason are printed).
        #[arg(long, value_name = "B", value_parser = parse_backend)]
        backend: Option<tenzor::Backend>,
    },
    /// Check the structure and every checksum; fails naming the first bad tensor.
    Verify {
        /// File to check.
        file: PathBuf,
        /// How to read it: auto, mmap, read or direct.
        #[arg(long, value_name = "B", value_parser = parse_backend)]
        backend: Option<tenzor::Backend>,
    },
    /// Measure open, and cold and warm full loads with each backend, on this
    /// file and its storage, against a plain sequential read (cat).
    Bench {
        /// File to measure.
        file: PathBuf,
        /// Runs per measurement (the median is shown).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Add every tensor of the SRC files (any readable format) to DEST without
    /// rewriting it; creates DEST if missing. Crash-safe: DEST holds the old
    /// or the new content, never a mix.
    Append {
        /// The .tenzor file to add to.
        dest: PathBuf,
        /// Files whose tensors to add, in order.
        #[arg(required = true)]
        src: Vec<PathBuf>,
        /// Replace tensors DEST already has (else a name clash is an error).
        #[arg(long)]
        replace: bool,
    },
    /// Rewrite a .tenzor file into the canonical layout, dropping the dead
    /// space appends and replacements left.
    Compact {
        /// File to rewrite in place (through a temporary file).
        file: PathBuf,
    },
    /// Repair a .tenzor file left with the edit mark by an interrupted edit:
    /// recompute its checksums and clear the mark.
    Rehash {
        /// File to repair.
        file: PathBuf,
    },
    /// Print a tensor's description and its first values (as f32).
    Get {
        /// File to read.
        file: PathBuf,
        /// Tensor name (or 0x... hash for legacy files).
        name: String,
        /// How many values to print.
        #[arg(long, default_value_t = 8)]
        count: usize,
    },
}

fn main() -> ExitCode {
    // Like other Unix tools, die quietly when the reader of stdout goes away
    // (`tenzor info big.tenzor | head`).
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // A bug must not print a backtrace at users; one line names it instead.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("tenzor: internal error: {info}");
    }));
    let cli = Cli::parse();
    match run(cli.cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tenzor: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cmd: Cmd) -> tenzor::Result<()> {
    match cmd {
        Cmd::Convert {
            input,
            output,
            align,
            max_shard_size,
            quiet,
        } => convert(
            input,
            output,
            ConvertOptions {
                alignment: align,
                max_shard_size,
            },
            quiet,
        ),
        Cmd::Info {
            file,
            json,
            backend,
        } => info(file, json, backend),
        Cmd::Bench { file, runs } => bench(&file, runs),
        Cmd::Verify { file, backend } => {
            let f = open(&file, backend)?;
            f.verify()?;
            let bytes = f.data_bytes();
            let what = match f.format() {
                tenzor::Format::TenzorLegacy => "structure checked (legacy file: no checksums)",
                _ if f.edit_interrupted() => {
                    "all checksums match, but the edit mark is set (an edit is under way, \
                     or `tenzor rehash` clears it)"
                }
                _ => "all checksums match",
            };
            println!(
                "{}: OK, {} tensors, {bytes} bytes, {what}",
                file.display(),
                f.len()
            );
            if let Some(tail) = f
                .append_layout()
                .map(|l| l.uncommitted_bytes)
                .filter(|&n| n > 0)
            {
                println!("  note: {tail} bytes after the committed content are an interrupted append's leftovers (ignored; the next append cuts them)");
            }
            Ok(())
        }
        Cmd::Get { file, name, count } => get(file, &name, count),
        Cmd::Append { dest, src, replace } => append(dest, &src, replace),
        Cmd::Compact { file } => {
            let s = tenzor::compact(&file)?;
            println!(
                "{}: {} tensors, {} -> {} bytes",
                file.display(),
                s.tensors,
                s.bytes_before,
                s.bytes_after
            );
            Ok(())
        }
        Cmd::Rehash { file } => {
            let stale = tenzor::rehash(&file)?;
            if stale.is_empty() {
                println!("{}: OK, no stale checksum", file.display());
            } else {
                let names: Vec<String> = stale.iter().map(|n| format!("'{n}'")).collect();
                println!(
                    "{}: rehashed {} stale tensor(s): {}",
                    file.display(),
                    stale.len(),
                    names.join(", ")
                );
            }
            Ok(())
        }
    }
}

/// Parses a size like `2GB` (powers of 1000, as Hugging Face writes them),
/// `1GiB` (powers of 1024) or a plain number of bytes.
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size such as 2GB or 500MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "unknown size unit in '{s}' (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size '{s}' is too large"))
}

fn convert(
    input: PathBuf,
    output: PathBuf,
    opts: ConvertOptions,
    quiet: bool,
) -> tenzor::Result<()> {
    let size = std::fs::metadata(&input).map(|m| m.len()).unwrap_or(0);
    let bar = (!quiet && std::io::stdout().is_terminal() && size > 64 << 20).then(|| {
        let b = indicatif::ProgressBar::new(size);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("valid template"),
        );
        b
    });
    let mut progress = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    };
    let stats = tenzor::convert(&input, &output, &opts, &mut progress)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    println!(
        "{} -> {}: {} tensors, {} bytes ({:?} -> {:?})",
        input.display(),
        output.display(),
        stats.tensors,
        stats.data_bytes,
        stats.from,
        stats.to
    );
    Ok(())
}

/// Opens with the backend asked for (default options otherwise).
fn open(
    file: &std::path::Path,
    backend: Option<tenzor::Backend>,
) -> tenzor::Result<TensorFile<'static>> {
    let opts = tenzor::OpenOptions {
        backend: backend.unwrap_or_default(),
        ..Default::default()
    };
    TensorFile::open_with(file, &opts)
}

fn parse_backend(s: &str) -> Result<tenzor::Backend, String> {
    tenzor::Backend::from_name(s)
        .ok_or_else(|| format!("unknown backend '{s}' (use auto, mmap, read or direct)"))
}

fn bench(file: &std::path::Path, runs: usize) -> tenzor::Result<()> {
    let rows = tenzor::io::bench::run(file, runs)?;
    let cat = |tag: &str| {
        rows.iter()
            .find(|r| r.what == format!("{tag} sequential read (cat)"))
            .map_or(0.0, |r| r.gbps())
    };
    println!("{}: medians of {runs} runs", file.display());
    println!(
        "{:<44} {:>12} {:>9} {:>8}",
        "measure", "median", "GB/s", "vs cat"
    );
    for r in &rows {
        let base = cat(r.what.split(' ').next().unwrap_or(""));
        let (rate, ratio) = if r.bytes == 0 {
            (String::new(), String::new())
        } else {
            (
                format!("{:.2}", r.gbps()),
                format!("{:.2}x", r.gbps() / base),
            )
        };
        println!("{:<44} {:>12.3?} {rate:>9} {ratio:>8}", r.what, r.median);
    }
    Ok(())
}

fn info(file: PathBuf, json: bool, backend: Option<tenzor::Backend>) -> tenzor::Result<()> {
    let f = open(&file, backend)?;
    let h = f.header();
    let meta = f.metadata()?;
    // Listing needs only the index: with the read backends no tensor data
    // is read.
    let infos = f.try_infos().collect::<tenzor::Result<Vec<_>>>()?;
    if json {
        let tensors: Vec<_> = infos
            .iter()
            .map(|t| {
                serde_json::json!({
                    "name": t.display_name(),
                    "hash": format!("{:#018x}", t.name_hash),
                    "dtype": t.dtype.name(),
                    "shape": t.shape,
                    "bytes": t.size,
                    "offset": t.file_offset,
                    "checksum": t.checksum.map(|c| format!("{c:#018x}")),
                })
            })
            .collect();
        let out = serde_json::json!({
            "file": file.display().to_string(),
            "backend": f.backend().map(|b| serde_json::json!({"name": b.backend.name(), "reason": b.reason})),
            "header": h,
            "layout": f.append_layout(),
            "metadata": meta,
            "tensors": tensors,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("JSON values serialize")
        );
        return Ok(());
    }
    println!("{}: {}", file.display(), h.format);
    if let Some(b) = f.backend() {
        println!("  backend {} ({})", b.backend.name(), b.reason);
    }
    if h.shards > 1 {
        println!(
            "  tensors {}  shards {}  alignment {}  size {}",
            h.tensor_count, h.shards, h.alignment, h.file_size
        );
    } else {
        println!(
            "  tensors {}  alignment {}  index @{}  data @{}  size {}  checksum {:#018x}",
            h.tensor_count,
            h.alignment,
            h.index_offset,
            h.data_offset,
            h.file_size,
            h.header_checksum
        );
    }
    if let Some(l) = f.append_layout() {
        let kind = if l.appendable {
            "appendable"
        } else {
            "canonical"
        };
        print!(
            "  layout {kind}  generation {}  dead space {} bytes",
            l.generation, l.dead_bytes
        );
        if l.uncommitted_bytes > 0 {
            print!(
                "  uncommitted tail {} bytes (an interrupted append)",
                l.uncommitted_bytes
            );
        }
        println!();
    }
    if h.edit_interrupted {
        println!(
            "  edit mark SET: an edit is under way or was interrupted; checksums may be stale (`tenzor rehash` repairs)"
        );
    } else if f.format() == tenzor::Format::Tenzor {
        println!("  edit mark clear");
    }
    println!(
        "  metadata {}",
        serde_json::to_string(&meta).expect("JSON values serialize")
    );
    let rows: Vec<[String; 5]> = infos
        .iter()
        .map(|t| {
            [
                t.display_name(),
                t.dtype.to_string(),
                format!("{:?}", t.shape),
                t.size.to_string(),
                t.file_offset.to_string(),
            ]
        })
        .collect();
    let head = ["NAME", "DTYPE", "SHAPE", "BYTES", "OFFSET"];
    let width: Vec<usize> = (0..5)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([head[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (c, cell) in cells.iter().enumerate() {
            let pad = width[c] - cell.chars().count();
            if c >= 3 {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            }
            s.push_str("  ");
        }
        println!("{}", s.trim_end());
    };
    line(head);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
    }
    Ok(())
}

fn append(dest: PathBuf, srcs: &[PathBuf], replace: bool) -> tenzor::Result<()> {
    let mut a = tenzor::Appender::open(&dest, tenzor::AppendOptions::default())?;
    let (mut added, mut replaced) = (0, 0);
    for src in srcs {
        let f = TensorFile::open(src)?;
        if a.is_new_file() && added == 0 {
            a.set_metadata(f.metadata_json())?;
        }
        for t in f.iter() {
            let name = t.display_name();
            let exists = a.get(&name)?.is_some();
            if exists && !replace {
                return Err(tenzor::Error::new(
                    tenzor::ErrorKind::DuplicateName,
                    format!(
                        "tensor '{}' (from {}) is already there; use --replace to replace it",
                        name.escape_debug(),
                        src.display()
                    ),
                )
                .in_file(&dest));
            }
            a.add_tensor(&name, t.dtype(), t.shape(), t.data())?;
            added += 1;
            replaced += usize::from(exists);
        }
    }
    let generation = a.next_generation();
    a.commit()?;
    println!(
        "{}: added {} tensors ({replaced} replacing existing ones), generation {generation}",
        dest.display(),
        added - replaced,
    );
    Ok(())
}

fn get(file: PathBuf, name: &str, count: usize) -> tenzor::Result<()> {
    let f = TensorFile::open(&file)?;
    let t = match name
        .strip_prefix("0x")
        .and_then(|h| u64::from_str_radix(h, 16).ok())
    {
        Some(hash) if f.get(name).is_none() => f.get_by_hash(hash),
        _ => f.get(name),
    }
    .ok_or_else(|| {
        tenzor::Error::new(
            tenzor::ErrorKind::NotFound,
            format!("no tensor named '{name}'"),
        )
        .in_file(&file)
    })?;
    println!(
        "{} {} {:?} {} bytes @{}",
        t.display_name(),
        t.dtype(),
        t.shape(),
        t.data().len(),
        t.file_offset()
    );
    let mut values = vec![0f32; t.numel() as usize];
    match t.to_f32(&mut values) {
        Ok(()) => {
            let shown: Vec<String> = values.iter().take(count).map(|v| format!("{v}")).collect();
            let more = if values.len() > count { ", ..." } else { "" };
            println!("[{}{more}]", shown.join(", "));
        }
        Err(_) => {
            let shown: Vec<String> = t
                .data()
                .iter()
                .take(count)
                .map(|b| format!("{b:02x}"))
                .collect();
            println!("raw bytes: {}", shown.join(" "));
        }
    }
    Ok(())
}
