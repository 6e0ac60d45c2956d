// tenzor.hpp: a header-only C++17 RAII wrapper over the C API in tenzor.h.
//
// - tenzor::file owns a tenzor_file (closed by the destructor; move-only).
// - tenzor::tensor is a non-owning view into a file's mapping: it stays
//   valid as long as the tenzor::file it came from (moving the file object
//   keeps it valid; destroying it does not).
// - tenzor::writer owns a tenzor_writer; destroying an unfinished writer
//   aborts it (the temporary file is removed, the destination untouched).
// - Failures throw tenzor::error, carrying the tenzor_status and the
//   message of tenzor_last_error; lookups that may miss return std::optional.
//
// Written by hand (it is not generated); tests: c_tests/test_cpp.cpp.
#ifndef TENZOR_HPP
#define TENZOR_HPP

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tenzor.h"

namespace tenzor {

/// A failed tenzor call: what() is the library's message.
class error : public std::runtime_error {
  public:
    error(tenzor_status status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    /// The TENZOR_ERR_* code of the failure.
    tenzor_status status() const noexcept { return status_; }

  private:
    tenzor_status status_;
};

namespace detail {
/// This thread's last error message.
inline std::string last_error() {
    std::vector<char> buf(tenzor_last_error(nullptr, 0) + 1);
    tenzor_last_error(buf.data(), buf.size());
    return std::string(buf.data());
}

inline void check(tenzor_status status) {
    if (status != TENZOR_OK) {
        throw error(status, last_error());
    }
}

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr tenzor_dtype value = TENZOR_DTYPE_F32; };
template <> struct dtype_of<double> { static constexpr tenzor_dtype value = TENZOR_DTYPE_F64; };
template <> struct dtype_of<std::int8_t> { static constexpr tenzor_dtype value = TENZOR_DTYPE_I8; };
template <> struct dtype_of<std::int16_t> { static constexpr tenzor_dtype value = TENZOR_DTYPE_I16; };
template <> struct dtype_of<std::int32_t> { static constexpr tenzor_dtype value = TENZOR_DTYPE_I32; };
template <> struct dtype_of<std::int64_t> { static constexpr tenzor_dtype value = TENZOR_DTYPE_I64; };
template <> struct dtype_of<std::uint8_t> { static constexpr tenzor_dtype value = TENZOR_DTYPE_U8; };
template <> struct dtype_of<std::uint16_t> { static constexpr tenzor_dtype value = TENZOR_DTYPE_U16; };
template <> struct dtype_of<std::uint32_t> { static constexpr tenzor_dtype value = TENZOR_DTYPE_U32; };
template <> struct dtype_of<std::uint64_t> { static constexpr tenzor_dtype value = TENZOR_DTYPE_U64; };
} // namespace detail

/// A minimal read-only span (std::span is C++20).
template <class T> class span {
  public:
    span() noexcept = default;
    span(const T *data, std::size_t size) noexcept : data_(data), size_(size) {}
    const T *data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    const T *begin() const noexcept { return data_; }
    const T *end() const noexcept { return data_ + size_; }
    const T &operator[](std::size_t i) const noexcept { return data_[i]; }

  private:
    const T *data_ = nullptr;
    std::size_t size_ = 0;
};

/// A minimal writable span, for tensors handed out by a tenzor::editor.
template <class T> class mut_span {
  public:
    mut_span() noexcept = default;
    mut_span(T *data, std::size_t size) noexcept : data_(data), size_(size) {}
    T *data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    T *begin() const noexcept { return data_; }
    T *end() const noexcept { return data_ + size_; }
    T &operator[](std::size_t i) const noexcept { return data_[i]; }

  private:
    T *data_ = nullptr;
    std::size_t size_ = 0;
};

/// The library version string ("0.2.0").
inline const char *version() noexcept { return tenzor_version(); }

/// The FNV-1a 64 hash tenzor uses for names.
inline std::uint64_t hash_name(std::string_view name) noexcept {
    return tenzor_hash_name(name.data(), name.size());
}

/// The canonical name of a dtype ("F32", ...), or nullptr when unknown.
inline const char *dtype_name(tenzor_dtype dtype) noexcept { return tenzor_dtype_name(dtype); }

/// Converts .safetensors <-> .tenzor (formats from content and extension).
inline void convert(const std::string &input, const std::string &output) {
    detail::check(tenzor_convert(input.c_str(), output.c_str()));
}

/// A view of one tensor, borrowed from a tenzor::file (see the top).
class tensor {
  public:
    explicit tensor(const tenzor_tensor &raw) noexcept : raw_(raw) {}

    /// The name (empty for legacy v1 files, which store none).
    std::string_view name() const noexcept {
        return raw_.name ? std::string_view(raw_.name, raw_.name_len) : std::string_view();
    }
    /// The name as a C string, or nullptr for legacy v1 files.
    const char *c_name() const noexcept { return raw_.name; }
    std::uint64_t name_hash() const noexcept { return raw_.name_hash; }
    tenzor_dtype dtype() const noexcept { return raw_.dtype; }
    const char *dtype_name() const noexcept { return tenzor_dtype_name(raw_.dtype); }
    span<std::uint64_t> shape() const noexcept { return span<std::uint64_t>(raw_.shape, raw_.ndim); }
    std::uint64_t numel() const noexcept {
        std::uint64_t n = 1;
        for (std::uint64_t d : shape()) {
            n *= d;
        }
        return n;
    }
    /// The raw bytes, inside the mapping.
    span<std::byte> bytes() const noexcept {
        return span<std::byte>(static_cast<const std::byte *>(raw_.data), raw_.size);
    }
    std::size_t size_bytes() const noexcept { return raw_.size; }
    std::uint64_t file_offset() const noexcept { return raw_.file_offset; }
    std::size_t position() const noexcept { return raw_.position; }
    const tenzor_tensor &raw() const noexcept { return raw_; }

    /// The elements as T, without copying. Throws TENZOR_ERR_INVALID_ARGUMENT
    /// when T does not match the dtype or the data is not aligned for T.
    template <class T> span<T> as() const {
        if (detail::dtype_of<T>::value != raw_.dtype) {
            throw error(TENZOR_ERR_INVALID_ARGUMENT,
                        "tensor '" + std::string(name()) + "' is " + dtype_name() +
                            ", not the requested element type");
        }
        if (raw_.alignment < alignof(T)) {
            throw error(TENZOR_ERR_INVALID_ARGUMENT,
                        "tensor '" + std::string(name()) + "' is not aligned for the element type");
        }
        return span<T>(static_cast<const T *>(raw_.data), raw_.size / sizeof(T));
    }

  private:
    tenzor_tensor raw_;
};

/// An open tensor file (owns the handle; move-only).
class file {
  public:
    /// Maps and validates `path`. Do not modify or truncate the file while
    /// it is open (undefined behaviour, SIGBUS on Linux).
    static file open(const std::string &path) {
        const tenzor_file *f = nullptr;
        detail::check(tenzor_open(path.c_str(), &f));
        return file(f);
    }

    /// Borrows a file held in memory; the buffer must outlive the object.
    static file from_memory(const void *data, std::size_t len) {
        const tenzor_file *f = nullptr;
        detail::check(tenzor_open_memory(data, len, &f));
        return file(f);
    }

    file(file &&other) noexcept : f_(std::exchange(other.f_, nullptr)) {}
    file &operator=(file &&other) noexcept {
        if (this != &other) {
            tenzor_close(f_);
            f_ = std::exchange(other.f_, nullptr);
        }
        return *this;
    }
    file(const file &) = delete;
    file &operator=(const file &) = delete;
    ~file() { tenzor_close(f_); }

    std::size_t size() const noexcept { return tenzor_tensor_count(f_); }
    std::uint64_t alignment() const noexcept { return tenzor_file_alignment(f_); }

    /// The tensor called `name`, or nullopt; other failures throw.
    std::optional<tensor> find(const std::string &name) const {
        tenzor_tensor t;
        return found(tenzor_get_tensor(f_, name.c_str(), &t), t);
    }
    std::optional<tensor> find_hash(std::uint64_t hash) const {
        tenzor_tensor t;
        return found(tenzor_get_tensor_by_hash(f_, hash, &t), t);
    }
    /// The tensor called `name`; throws tenzor::error when there is none.
    tensor operator[](const std::string &name) const {
        tenzor_tensor t;
        detail::check(tenzor_get_tensor(f_, name.c_str(), &t));
        return tensor(t);
    }
    /// The tensor at `index` in write order; throws when out of range.
    tensor at(std::size_t index) const {
        tenzor_tensor t;
        detail::check(tenzor_get_tensor_at(f_, index, &t));
        return tensor(t);
    }

    /// Rows [start, stop) of the outermost dimension of `name`, as a view (no
    /// copy; tenzor_get_tensor_rows). Throws TENZOR_ERR_OUT_OF_RANGE for a
    /// range outside the rows, TENZOR_ERR_UNSUPPORTED for a cut inside a block.
    tensor rows(const std::string &name, std::uint64_t start, std::uint64_t stop) const {
        tenzor_tensor t;
        detail::check(tenzor_get_tensor_rows(f_, name.c_str(), start, stop, &t));
        return tensor(t);
    }

    /// The hyper-rectangle start[d]..stop[d] of every dimension of `name`,
    /// copied row-major into a new buffer (tenzor_read_slice: only the
    /// slice is read). Throws TENZOR_ERR_OUT_OF_RANGE for bounds outside the
    /// tensor or a rank mismatch, TENZOR_ERR_UNSUPPORTED for a cut block.
    std::vector<unsigned char> read_slice(const std::string &name,
                                          const std::vector<std::uint64_t> &start,
                                          const std::vector<std::uint64_t> &stop) const {
        if (start.size() != stop.size()) {
            throw error(TENZOR_ERR_OUT_OF_RANGE, "read_slice: " + std::to_string(start.size()) +
                                                     " starts but " + std::to_string(stop.size()) +
                                                     " stops");
        }
        std::size_t size = 0;
        detail::check(tenzor_read_slice(f_, name.c_str(), start.data(), stop.data(), start.size(),
                                        nullptr, 0, &size));
        std::vector<unsigned char> out(size);
        if (size > 0) {
            detail::check(tenzor_read_slice(f_, name.c_str(), start.data(), stop.data(),
                                            start.size(), out.data(), out.size(), &size));
        }
        return out;
    }

    /// The JSON metadata text (valid while the file lives).
    std::string_view metadata() const {
        const char *json = nullptr;
        std::size_t len = 0;
        detail::check(tenzor_metadata(f_, &json, &len));
        return std::string_view(json, len);
    }

    /// Recomputes all checksums; throws on a mismatch.
    void verify() const { detail::check(tenzor_verify(f_)); }

    /// True when the file carries the edit mark (an edit under way or
    /// interrupted; see tenzor_file_edit_interrupted).
    bool edit_interrupted() const noexcept { return tenzor_file_edit_interrupted(f_); }

    const tenzor_file *get() const noexcept { return f_; }

    /// Iterates over the tensors in write order.
    class iterator {
      public:
        using iterator_category = std::input_iterator_tag;
        using value_type = tensor;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = tensor;
        iterator(const file *f, std::size_t i) noexcept : f_(f), i_(i) {}
        tensor operator*() const { return f_->at(i_); }
        iterator &operator++() noexcept {
            ++i_;
            return *this;
        }
        bool operator==(const iterator &o) const noexcept { return i_ == o.i_ && f_ == o.f_; }
        bool operator!=(const iterator &o) const noexcept { return !(*this == o); }

      private:
        const file *f_;
        std::size_t i_;
    };
    iterator begin() const noexcept { return iterator(this, 0); }
    iterator end() const noexcept { return iterator(this, size()); }

  private:
    explicit file(const tenzor_file *f) noexcept : f_(f) {}
    static std::optional<tensor> found(tenzor_status status, const tenzor_tensor &t) {
        if (status == TENZOR_ERR_NOT_FOUND) {
            return std::nullopt;
        }
        detail::check(status);
        return tensor(t);
    }
    const tenzor_file *f_;
};

/// Writes a new .tenzor file; destroying it unfinished aborts (move-only).
class writer {
  public:
    explicit writer(const std::string &path, const tenzor_writer_options *opts = nullptr) {
        detail::check(tenzor_writer_create(path.c_str(), opts, &w_));
    }
    writer(const std::string &path, const tenzor_writer_options &opts) : writer(path, &opts) {}
    writer(writer &&other) noexcept : w_(std::exchange(other.w_, nullptr)) {}
    writer &operator=(writer &&other) noexcept {
        if (this != &other) {
            tenzor_writer_abort(w_);
            w_ = std::exchange(other.w_, nullptr);
        }
        return *this;
    }
    writer(const writer &) = delete;
    writer &operator=(const writer &) = delete;
    ~writer() { tenzor_writer_abort(w_); }

    /// Adds a tensor from raw bytes (copied to the file before returning).
    void add(const std::string &name, tenzor_dtype dtype, const std::vector<std::uint64_t> &shape,
             const void *data, std::size_t len) {
        detail::check(tenzor_writer_add(live(), name.c_str(), dtype, shape.size(), shape.data(),
                                        data, len));
    }
    /// Adds a tensor of plain numbers, its dtype taken from T.
    template <class T>
    void add(const std::string &name, const std::vector<std::uint64_t> &shape,
             const std::vector<T> &values) {
        add(name, detail::dtype_of<T>::value, shape, values.data(), values.size() * sizeof(T));
    }
    void set_metadata(std::string_view json) {
        detail::check(tenzor_writer_set_metadata(live(), json.data(), json.size()));
    }
    /// Completes the file; the writer is spent afterwards, even on failure.
    void finish() { detail::check(tenzor_writer_finish(std::exchange(w_, nullptr))); }
    /// Abandons the file; the writer is spent afterwards.
    void abort() noexcept { tenzor_writer_abort(std::exchange(w_, nullptr)); }

  private:
    tenzor_writer *live() const {
        if (w_ == nullptr) {
            throw error(TENZOR_ERR_INVALID_ARGUMENT, "tenzor::writer used after finish or abort");
        }
        return w_;
    }
    tenzor_writer *w_ = nullptr;
};

/// An existing file open for editing tensor bytes in place (move-only; see
/// tenzor_editor_open). The destructor closes it, flushing and ignoring a
/// failure: call close() to see one.
class editor {
  public:
    static editor open(const std::string &path) {
        tenzor_editor *e = nullptr;
        detail::check(tenzor_editor_open(path.c_str(), &e));
        return editor(e);
    }
    editor(editor &&other) noexcept : e_(std::exchange(other.e_, nullptr)) {}
    editor &operator=(editor &&other) noexcept {
        if (this != &other) {
            tenzor_editor_close(e_);
            e_ = std::exchange(other.e_, nullptr);
        }
        return *this;
    }
    editor(const editor &) = delete;
    editor &operator=(const editor &) = delete;
    ~editor() { tenzor_editor_close(e_); }

    std::size_t size() const noexcept { return tenzor_editor_tensor_count(e_); }

    /// Hands the tensor called `name` out for writing: its bytes, writable
    /// until the next flush() and valid until close().
    mut_span<std::byte> bytes(const std::string &name) {
        tenzor_tensor_mut v;
        detail::check(tenzor_editor_get_tensor(live(), name.c_str(), &v));
        return mut_span<std::byte>(static_cast<std::byte *>(v.data), v.size);
    }
    /// The same as elements of T; throws TENZOR_ERR_INVALID_ARGUMENT when T
    /// does not match the dtype or the data is not aligned for T (nothing
    /// is handed out then).
    template <class T> mut_span<T> as(const std::string &name) {
        tenzor_tensor_mut v;
        detail::check(tenzor_editor_get_tensor(live(), name.c_str(), &v));
        if (detail::dtype_of<T>::value != v.dtype || v.alignment < alignof(T)) {
            throw error(TENZOR_ERR_INVALID_ARGUMENT,
                        "tensor '" + name + "' is not of the requested element type or alignment");
        }
        return mut_span<T>(static_cast<T *>(v.data), v.size / sizeof(T));
    }
    /// Makes the edits durable and the file verifiable (tenzor_editor_flush).
    void flush() { detail::check(tenzor_editor_flush(live())); }
    /// Flushes and closes; the editor is spent afterwards, even on failure.
    void close() { detail::check(tenzor_editor_close(std::exchange(e_, nullptr))); }

  private:
    explicit editor(tenzor_editor *e) noexcept : e_(e) {}
    tenzor_editor *live() const {
        if (e_ == nullptr) {
            throw error(TENZOR_ERR_INVALID_ARGUMENT, "tenzor::editor used after close");
        }
        return e_;
    }
    tenzor_editor *e_ = nullptr;
};

/// Repairs a file an interrupted edit left marked (tenzor_rehash).
inline void rehash(const std::string &path) { detail::check(tenzor_rehash(path.c_str())); }

} // namespace tenzor

#endif // TENZOR_HPP
