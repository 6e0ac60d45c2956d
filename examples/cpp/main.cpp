// tenzor from C++ through the RAII wrapper tenzor.hpp: convert the sample,
// look tensors up, print a summary, write a small file and read it back.
//
//   c++ -std=c++17 main.cpp $(pkg-config --cflags --libs tenzor) -o example
//   (or CMake: see CMakeLists.txt)
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tenzor.hpp"

static std::string shape_str(const tenzor::tensor &t) {
    std::string s = "[";
    for (std::size_t d = 0; d < t.shape().size(); ++d) {
        s += (d ? ", " : "") + std::to_string(t.shape()[d]);
    }
    return s + "]";
}

int main(int argc, char **argv) try {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s SAMPLE.safetensors OUT_DIR\n", argv[0]);
        return 2;
    }
    const std::string model = std::string(argv[2]) + "/sample.tenzor";
    const std::string small = std::string(argv[2]) + "/small.tenzor";
    std::printf("tenzor %s\n", tenzor::version());

    tenzor::convert(argv[1], model);
    {
        tenzor::file f = tenzor::file::open(model);
        std::printf("sample.tenzor: %zu tensors, alignment %" PRIu64 "\n", f.size(), f.alignment());

        tenzor::tensor head = f["lm_head.weight"];
        std::printf("%s: %s %s, %zu bytes, hash 0x%016" PRIx64 "\n", head.c_name(),
                    head.dtype_name(), shape_str(head).c_str(), head.size_bytes(),
                    head.name_hash());

        tenzor::tensor emb = f["model.embed_tokens.weight"];
        tenzor::span<float> values = emb.as<float>(); // a typed view, no copy
        std::uint32_t bits;
        std::memcpy(&bits, &values[0], sizeof bits);
        std::printf("%s: %s %s, %zu bytes, first element bits 0x%08" PRIx32 "\n", emb.c_name(),
                    emb.dtype_name(), shape_str(emb).c_str(), emb.size_bytes(), bits);

        std::printf("metadata: %.*s\n", static_cast<int>(f.metadata().size()),
                    f.metadata().data());
        std::printf("lookup of 'missing': %s\n",
                    f.find("missing") ? "found" : tenzor_status_str(TENZOR_ERR_NOT_FOUND));
    }
    {
        tenzor::writer w(small);
        const char hello[] = "hello";
        w.add("greeting", TENZOR_DTYPE_U8, {5}, hello, 5);
        w.add<float>("ones", {2, 2}, {1.0f, 1.0f, 1.0f, 1.0f});
        w.set_metadata(R"({"written_by":"cpp"})");
        w.finish();
    }
    tenzor::file f = tenzor::file::open(small);
    f.verify();
    std::printf("small.tenzor: %zu tensors, verified, metadata %.*s\n", f.size(),
                static_cast<int>(f.metadata().size()), f.metadata().data());
    return 0;
} catch (const tenzor::error &e) {
    std::fprintf(stderr, "tenzor error %u: %s\n", static_cast<unsigned>(e.status()), e.what());
    return 1;
}
