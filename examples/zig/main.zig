//! tenzor from Zig through @cImport: convert the sample, look tensors up,
//! print a summary, write a small file and read it back.
//!
//!   zig build-exe main.zig -I PREFIX/include -L PREFIX/lib -ltenzor -lc
//!   ./main examples/sample.safetensors /tmp
//!
//! Targets Zig 0.15 (the last release with @cImport).
const std = @import("std");
const c = @cImport({
    @cInclude("stdio.h");
    @cInclude("string.h");
    @cInclude("tenzor.h");
});

const TenzorError = error{Failed};

/// Prints the library's message for a failed call and returns an error.
fn check(status: c.tenzor_status, what: [*:0]const u8) TenzorError!void {
    if (status == c.TENZOR_OK) return;
    var msg: [512]u8 = undefined;
    _ = c.tenzor_last_error(&msg, msg.len);
    _ = c.fprintf(c.stderr, "%s failed: %s: %s\n", what, c.tenzor_status_str(status), &msg);
    return error.Failed;
}

fn printTensor(t: *const c.tenzor_tensor) void {
    _ = c.printf("%s: %s [", t.name, c.tenzor_dtype_name(t.dtype));
    var d: usize = 0;
    while (d < t.ndim) : (d += 1) {
        _ = c.printf("%s%llu", @as([*:0]const u8, if (d == 0) "" else ", "), @as(c_ulonglong, t.shape[d]));
    }
    _ = c.printf("], %zu bytes", t.size);
}

fn run(sample: [*:0]const u8, dir: []const u8) !void {
    var model_buf: [4096]u8 = undefined;
    var small_buf: [4096]u8 = undefined;
    const model = try std.fmt.bufPrintZ(&model_buf, "{s}/sample.tenzor", .{dir});
    const small = try std.fmt.bufPrintZ(&small_buf, "{s}/small.tenzor", .{dir});
    _ = c.printf("tenzor %s\n", c.tenzor_version());

    try check(c.tenzor_convert(sample, model.ptr), "convert");
    var f: ?*const c.tenzor_file = null;
    try check(c.tenzor_open(model.ptr, &f), "open");
    defer c.tenzor_close(f);
    _ = c.printf("sample.tenzor: %zu tensors, alignment %llu\n", c.tenzor_tensor_count(f), @as(c_ulonglong, c.tenzor_file_alignment(f)));

    var head: c.tenzor_tensor = undefined;
    try check(c.tenzor_get_tensor(f, "lm_head.weight", &head), "lookup lm_head.weight");
    printTensor(&head);
    _ = c.printf(", hash 0x%016llx\n", @as(c_ulonglong, head.name_hash));

    var emb: c.tenzor_tensor = undefined;
    try check(c.tenzor_get_tensor(f, "model.embed_tokens.weight", &emb), "lookup embed_tokens");
    // The data points into the mapping; read the first element's bits.
    const bytes: [*]const u8 = @ptrCast(emb.data.?);
    const bits = std.mem.readInt(u32, bytes[0..4], .little);
    printTensor(&emb);
    _ = c.printf(", first element bits 0x%08x\n", @as(c_uint, bits));

    var json: [*c]const u8 = null;
    var json_len: usize = 0;
    try check(c.tenzor_metadata(f, &json, &json_len), "metadata");
    _ = c.printf("metadata: %s\n", json);
    var missing: c.tenzor_tensor = undefined;
    _ = c.printf("lookup of 'missing': %s\n", c.tenzor_status_str(c.tenzor_get_tensor(f, "missing", &missing)));

    var w: ?*c.tenzor_writer = null;
    try check(c.tenzor_writer_create(small.ptr, null, &w), "writer_create");
    errdefer c.tenzor_writer_abort(w);
    const greeting_shape = [_]u64{5};
    const ones_shape = [_]u64{ 2, 2 };
    const ones = [_]f32{ 1.0, 1.0, 1.0, 1.0 };
    const meta = "{\"written_by\":\"zig\"}";
    try check(c.tenzor_writer_add(w, "greeting", c.TENZOR_DTYPE_U8, 1, &greeting_shape, "hello", 5), "add greeting");
    try check(c.tenzor_writer_add(w, "ones", c.TENZOR_DTYPE_F32, 2, &ones_shape, &ones, @sizeOf(@TypeOf(ones))), "add ones");
    try check(c.tenzor_writer_set_metadata(w, meta, meta.len), "set_metadata");
    const finished = c.tenzor_writer_finish(w);
    w = null; // consumed by finish whatever the outcome
    try check(finished, "finish");

    var g: ?*const c.tenzor_file = null;
    try check(c.tenzor_open(small.ptr, &g), "reopen");
    defer c.tenzor_close(g);
    try check(c.tenzor_verify(g), "verify");
    try check(c.tenzor_metadata(g, &json, &json_len), "metadata");
    _ = c.printf("small.tenzor: %zu tensors, verified, metadata %s\n", c.tenzor_tensor_count(g), json);
}

pub fn main() !void {
    const args = try std.process.argsAlloc(std.heap.page_allocator);
    defer std.process.argsFree(std.heap.page_allocator, args);
    if (args.len != 3) {
        _ = c.fprintf(c.stderr, "usage: main SAMPLE.safetensors OUT_DIR\n");
        std.process.exit(2);
    }
    run(args[1].ptr, args[2]) catch |err| {
        _ = c.fflush(null);
        _ = c.fprintf(c.stderr, "error: %s\n", @errorName(err).ptr);
        std.process.exit(1);
    };
    _ = c.fflush(null);
}
