#!/usr/bin/env python3
"""Write or read an LLM-shaped GGUF with the real `gguf` package (gguf-py).

  python3 tests/py/llm_gguf.py make OUT.gguf TOKENS MERGES TENSORS
      A llama-style file: general.* and llama.* keys, a tokenizer of TOKENS
      strings (ASCII words, byte tokens "<0xNN>", multi-byte UTF-8, one empty
      string, specials), their scores (f32) and token types (i32), MERGES merge
      strings, and TENSORS small F32/F16 tensors. Deterministic.
      Used by tests/c_meta.rs (small sizes) and scripts/bench_meta.sh (a
      150,000-token vocabulary, 250,000 merges, a few hundred tensors).

  python3 tests/py/llm_gguf.py vocab FILE.gguf
      Prints the vocabulary as gguf.GGUFReader reads it, one token a line:
      "<index> <hex of the UTF-8 bytes> <score as float32 bits, hex> <type>",
      then one "merge <index> <hex>" line per merge. tests/c/meta_vocab.c
      prints the same through tenzor's typed C API.
"""

import struct
import sys

import numpy as np


def token(i: int) -> str:
    if i < 3:
        return ["<unk>", "<s>", "</s>"][i]
    if i < 3 + 256:
        return f"<0x{i - 3:02X}>"
    if i == 300:
        return ""
    if i % 7 == 0:
        return "\u2581" + "é" * (i % 4) + f"ü{i}"
    if i % 11 == 0:
        return chr(0x4E00 + i % 2000) + chr(0x1F600 + i % 50)
    return "\u2581w" + str(i)


def make(out: str, n_tokens: int, n_merges: int, n_tensors: int) -> None:
    from gguf import GGUFWriter, TokenType

    w = GGUFWriter(out, "llama")
    w.add_name("bench-llm")
    w.add_context_length(4096)
    w.add_embedding_length(64)
    w.add_block_count(max(1, n_tensors // 9))
    w.add_feed_forward_length(128)
    w.add_head_count(8)
    w.add_head_count_kv(8)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("llama")
    w.add_token_list([token(i) for i in range(n_tokens)])
    w.add_token_scores([float(-i) / 7.0 for i in range(n_tokens)])
    types = [TokenType.NORMAL] * n_tokens
    for i in range(min(3, n_tokens)):
        types[i] = TokenType.CONTROL
    for i in range(3, min(259, n_tokens)):
        types[i] = TokenType.BYTE
    w.add_token_types(types)
    w.add_token_merges([f"\u2581w{i % 997} w{i}" for i in range(n_merges)])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    for t in range(n_tensors):
        dtype = np.float16 if t % 3 == 0 else np.float32
        w.add_tensor(f"blk.{t // 9}.w{t % 9}.weight", np.full((4, 16), t % 5, dtype=dtype))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def field_parts(r, key):
    f = r.fields[key]
    return [f.parts[i] for i in f.data]


def vocab(path: str) -> None:
    from gguf import GGUFReader

    r = GGUFReader(path)
    tokens = field_parts(r, "tokenizer.ggml.tokens")
    scores = [p[0] for p in field_parts(r, "tokenizer.ggml.scores")]
    types = [p[0] for p in field_parts(r, "tokenizer.ggml.token_type")]
    out = sys.stdout
    for i, t in enumerate(tokens):
        bits = struct.unpack("<I", struct.pack("<f", float(scores[i])))[0]
        out.write(f"{i} {bytes(t).hex()} {bits:08x} {int(types[i])}\n")
    for i, m in enumerate(field_parts(r, "tokenizer.ggml.merges")):
        out.write(f"merge {i} {bytes(m).hex()}\n")


def main(argv) -> int:
    if len(argv) == 6 and argv[1] == "make":
        make(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
        return 0
    if len(argv) == 3 and argv[1] == "vocab":
        vocab(argv[2])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
