// Tests of the C++17 wrapper include/tenzor.hpp (built by tests/c_api.rs
// with -std=c++17 -Wall -Wextra -Wpedantic -Werror, plainly and with ASan).
#include "tenzor.hpp"
#include "tenzor.h" // again: the header must tolerate it

#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <string>
#include <vector>

int header_twice_a();
int header_twice_b();

static int checks = 0, failures = 0;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        ++checks;                                                                   \
        if (!(cond)) {                                                              \
            ++failures;                                                             \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

// Runs `f`, which must throw tenzor::error with `status` and `needle` in what().
template <class F> static void check_throws(F f, tenzor_status status, const char *needle, int line) {
    ++checks;
    try {
        f();
        ++failures;
        std::fprintf(stderr, "test_cpp.cpp:%d: no exception\n", line);
    } catch (const tenzor::error &e) {
        if (e.status() != status || std::strstr(e.what(), needle) == nullptr) {
            ++failures;
            std::fprintf(stderr, "test_cpp.cpp:%d: got status %u: %s\n", line, (unsigned)e.status(),
                         e.what());
        }
    }
}
#define CHECK_THROWS(expr, status, needle) check_throws([&] { expr; }, status, needle, __LINE__)

static int tmp_files(const std::string &dir) {
    int n = 0;
    if (DIR *d = opendir(dir.c_str())) {
        while (dirent *e = readdir(d)) {
            n += std::strstr(e->d_name, ".tmp") != nullptr;
        }
        closedir(d);
    }
    return n;
}

static bool exists(const std::string &path) {
    if (std::FILE *f = std::fopen(path.c_str(), "rb")) {
        std::fclose(f);
        return true;
    }
    return false;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s WORKDIR SAMPLE.safetensors\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1], sample = argv[2], model = dir + "/model.tenzor";
    CHECK(header_twice_a() > 0 && header_twice_b() == TENZOR_MAX_DIMS);
    CHECK(std::string(tenzor::version()) == tenzor_version());

    tenzor::convert(sample, model);
    {
        tenzor::file f = tenzor::file::open(model);
        CHECK(f.size() == 21 && f.alignment() == 64);
        tenzor::tensor head = f["lm_head.weight"];
        CHECK(head.name() == "lm_head.weight" && head.dtype() == TENZOR_DTYPE_BF16);
        CHECK(head.shape().size() == 2 && head.shape()[0] == 64 && head.shape()[1] == 32);
        CHECK(head.numel() == 64 * 32 && head.size_bytes() == 64 * 32 * 2);
        CHECK(std::string(head.dtype_name()) == "BF16");

        // Typed view without a copy: same address as the raw bytes.
        tenzor::span<float> emb = f["model.embed_tokens.weight"].as<float>();
        CHECK(emb.size() == 64 * 32);
        CHECK(static_cast<const void *>(emb.data()) ==
              static_cast<const void *>(f["model.embed_tokens.weight"].bytes().data()));
        CHECK_THROWS(head.as<float>(), TENZOR_ERR_INVALID_ARGUMENT, "BF16");

        CHECK(!f.find("no.such.tensor").has_value());
        CHECK(f.find("lm_head.weight").has_value());
        CHECK(f.find_hash(tenzor::hash_name("lm_head.weight"))->raw().data == head.raw().data);
        CHECK_THROWS(f["no.such.tensor"], TENZOR_ERR_NOT_FOUND, "no tensor named 'no.such.tensor'");
        CHECK_THROWS(f.at(21), TENZOR_ERR_NOT_FOUND, "out of range");
        CHECK(f.metadata().find("\"format\"") != std::string_view::npos);
        f.verify();

        std::size_t n = 0, pos_ok = 0;
        for (tenzor::tensor t : f) {
            pos_ok += t.position() == n;
            ++n;
        }
        CHECK(n == 21 && pos_ok == 21);

        // Moving the file object keeps views valid: the mapping does not move.
        tenzor::file moved = std::move(f);
        CHECK(moved["lm_head.weight"].raw().data == head.raw().data);
        CHECK(std::memcmp(head.bytes().data(), moved["lm_head.weight"].bytes().data(),
                          head.size_bytes()) == 0);
    }

    CHECK_THROWS(tenzor::file::open(dir + "/missing.tenzor"), TENZOR_ERR_IO, "missing.tenzor");

    // Writer round trip.
    const std::string out = dir + "/written.tenzor";
    {
        tenzor_writer_options opts{};
        opts.alignment = 4096;
        tenzor::writer w(out, opts);
        w.add<float>("weights", {2, 2}, {1.0f, 2.0f, 3.0f, 4.0f});
        w.add<std::int64_t>("step", {}, {42});
        w.add<std::uint8_t>("empty", {0, 3}, {});
        CHECK_THROWS(w.add<float>("weights", {1}, {0.0f}), TENZOR_ERR_DUPLICATE_NAME, "weights");
        CHECK_THROWS(w.add<float>("bad", {3}, {0.0f}), TENZOR_ERR_INVALID_ARGUMENT, "needs 12");
        w.set_metadata(R"({"from": "c++"})");
        w.finish();
        CHECK_THROWS(w.set_metadata("{}"), TENZOR_ERR_INVALID_ARGUMENT, "after finish");
    }
    {
        tenzor::file f = tenzor::file::open(out);
        CHECK(f.size() == 3 && f.alignment() == 4096);
        tenzor::span<float> w = f["weights"].as<float>();
        CHECK(w.size() == 4 && w[0] == 1.0f && w[3] == 4.0f);
        CHECK(reinterpret_cast<std::uintptr_t>(w.data()) % 4096 == 0);
        CHECK(f["step"].shape().empty() && f["step"].as<std::int64_t>()[0] == 42);
        CHECK(f["empty"].size_bytes() == 0 && f["empty"].shape()[0] == 0);
        CHECK(f.metadata() == R"({"from": "c++"})");

        // Slices: a row view into the mapping, a copied box.
        tenzor::tensor row = f.rows("weights", 1, 2);
        CHECK(row.shape()[0] == 1 && row.as<float>()[0] == 3.0f && row.as<float>()[1] == 4.0f);
        CHECK(row.raw().data == static_cast<const unsigned char *>(f["weights"].raw().data) + 8);
        std::vector<unsigned char> col = f.read_slice("weights", {0, 1}, {2, 2});
        float got[2];
        CHECK(col.size() == sizeof got);
        std::memcpy(got, col.data(), sizeof got);
        CHECK(got[0] == 2.0f && got[1] == 4.0f);
        CHECK(f.read_slice("weights", {1, 0}, {1, 2}).empty());
        CHECK_THROWS(f.rows("weights", 0, 3), TENZOR_ERR_OUT_OF_RANGE, "2 rows");
        CHECK_THROWS(f.read_slice("weights", {0}, {2}), TENZOR_ERR_OUT_OF_RANGE, "2 dimensions");
        CHECK_THROWS(f.read_slice("weights", {0}, {2, 2}), TENZOR_ERR_OUT_OF_RANGE, "1 starts");

        // The same bytes through from_memory.
        std::vector<unsigned char> bytes;
        if (std::FILE *fp = std::fopen(out.c_str(), "rb")) {
            unsigned char buf[4096];
            std::size_t got;
            while ((got = std::fread(buf, 1, sizeof buf, fp)) > 0) {
                bytes.insert(bytes.end(), buf, buf + got);
            }
            std::fclose(fp);
        }
        tenzor::file m = tenzor::file::from_memory(bytes.data(), bytes.size());
        CHECK(m.size() == 3);
        CHECK(static_cast<const unsigned char *>(m["weights"].raw().data) ==
              bytes.data() + m["weights"].file_offset());
    }

    // A writer destroyed unfinished leaves nothing behind.
    const std::string dropped = dir + "/dropped.tenzor";
    {
        tenzor::writer w(dropped);
        w.add<float>("x", {1}, {1.0f});
        CHECK(tmp_files(dir) == 1);
    }
    CHECK(!exists(dropped) && tmp_files(dir) == 0);

    // Editing in place: typed and byte writes, read back after close.
    {
        tenzor::editor e = tenzor::editor::open(out);
        CHECK(e.size() == 3);
        tenzor::mut_span<float> w = e.as<float>("weights");
        CHECK(w.size() == 4);
        w[0] = -1.0f;
        CHECK(tenzor::file::open(out).edit_interrupted());
        CHECK_THROWS(e.as<float>("step"), TENZOR_ERR_INVALID_ARGUMENT, "step");
        CHECK_THROWS(e.bytes("nope"), TENZOR_ERR_NOT_FOUND, "'nope'");
        CHECK_THROWS(tenzor::editor::open(out), TENZOR_ERR_BUSY, "write lock");
        e.bytes("step")[0] = std::byte{7};
        e.close();
        CHECK_THROWS(e.flush(), TENZOR_ERR_INVALID_ARGUMENT, "after close");
    }
    {
        tenzor::file f = tenzor::file::open(out);
        CHECK(!f.edit_interrupted());
        f.verify();
        CHECK(f["weights"].as<float>()[0] == -1.0f && f["weights"].as<float>()[1] == 2.0f);
        CHECK(f["step"].as<std::int64_t>()[0] == 7);
        tenzor::rehash(out); // nothing stale: a no-op
    }

    tenzor_writer_options bad{};
    bad.alignment = 3;
    CHECK_THROWS(tenzor::writer(dir + "/bad.tenzor", bad), TENZOR_ERR_INVALID_ARGUMENT, "alignment");

    std::printf("%d checks: %d passed, %d failed\n", checks, checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
