// 2-D convolution (stride 1, SAME padding, NHWC activations, HWIO kernels) for XLA:CPU,
// computed by oneDNN and exposed as XLA FFI handlers. pokeil_jax/onednn.py wraps them
// in a jax.custom_vjp; benchmarks/README.md says why (XLA:CPU's own convolution gradients run
// at about half of oneDNN's speed on this kind of CPU).
//
// Handlers (all float32; the buffers XLA passes are dense row-major):
//   pokeil_conv_forward           (x[N,H,W,C], w[KH,KW,C,O], b[O])  -> y[N,H,W,O]
//   pokeil_conv_backward          (x, w, dy[N,H,W,O])               -> dx, dw, db
//   pokeil_conv_backward_weights  (x, w, dy)                        -> dw, db   (no dx: first layer)
//
// oneDNN primitives are built once per shape and cached; each call wraps XLA's buffers in
// oneDNN memory objects without copying (only the tiny kernels are reordered to oneDNN's
// preferred blocked layout when it picks one). Written against the oneDNN 2.x C++ API
// (Debian bookworm: libdnnl-dev 2.6).
#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;

dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// N, H, W, C (input channels), O (output channels), KH, KW.
using ConvKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;

// Everything oneDNN needs for one convolution shape, forward and both gradients.
struct ConvPrimitives {
  memory::desc src, dst, bias, weights_user;  // the layouts XLA hands over
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  dnnl::convolution_backward_data::primitive_desc bwd_data_pd;
  dnnl::convolution_backward_data bwd_data;
  dnnl::convolution_backward_weights::primitive_desc bwd_weights_pd;
  dnnl::convolution_backward_weights bwd_weights;
  // Kernel layout changes, built once (empty when oneDNN takes XLA's HWIO as it is).
  dnnl::reorder to_fwd_weights, to_bwd_data_weights, from_diff_weights;
};

dnnl::reorder ReorderOrEmpty(const memory::desc& from, const memory::desc& to) {
  if (from == to) return dnnl::reorder();
  return dnnl::reorder(dnnl::reorder::primitive_desc(CpuEngine(), from, CpuEngine(), to));
}

// One stream per thread: creating one per call costs more than the small layers' work.
dnnl::stream& ThreadStream() {
  thread_local dnnl::stream stream(CpuEngine());
  return stream;
}

dnnl::primitive_attr UserScratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // thread-safe execution
  return attr;
}

std::unique_ptr<ConvPrimitives> BuildPrimitives(const ConvKey& key) {
  auto [n, h, w, c, o, kh, kw] = key;
  auto& engine = CpuEngine();
  auto p = std::make_unique<ConvPrimitives>();
  p->src = memory::desc({n, c, h, w}, kF32, Tag::nhwc);
  p->dst = memory::desc({n, o, h, w}, kF32, Tag::nhwc);
  p->bias = memory::desc({o}, kF32, Tag::x);
  p->weights_user = memory::desc({o, c, kh, kw}, kF32, Tag::hwio);
  memory::desc weights_any({o, c, kh, kw}, kF32, Tag::any);
  // XLA's SAME padding for stride 1: total k - 1, the smaller half first.
  memory::dims strides{1, 1};
  memory::dims pad_l{(kh - 1) / 2, (kw - 1) / 2};
  memory::dims pad_r{kh - 1 - (kh - 1) / 2, kw - 1 - (kw - 1) / 2};
  auto attr = UserScratchpad();

  dnnl::convolution_forward::desc fwd_desc(
      dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, p->src,
      weights_any, p->bias, p->dst, strides, pad_l, pad_r);
  p->fwd_pd = dnnl::convolution_forward::primitive_desc(fwd_desc, attr, engine);
  p->fwd = dnnl::convolution_forward(p->fwd_pd);

  dnnl::convolution_backward_data::desc bwd_data_desc(
      dnnl::algorithm::convolution_direct, p->src, weights_any, p->dst, strides, pad_l, pad_r);
  p->bwd_data_pd =
      dnnl::convolution_backward_data::primitive_desc(bwd_data_desc, attr, engine, p->fwd_pd);
  p->bwd_data = dnnl::convolution_backward_data(p->bwd_data_pd);

  dnnl::convolution_backward_weights::desc bwd_weights_desc(
      dnnl::algorithm::convolution_direct, p->src, weights_any, p->bias, p->dst, strides,
      pad_l, pad_r);
  p->bwd_weights_pd = dnnl::convolution_backward_weights::primitive_desc(
      bwd_weights_desc, attr, engine, p->fwd_pd);
  p->bwd_weights = dnnl::convolution_backward_weights(p->bwd_weights_pd);
  p->to_fwd_weights = ReorderOrEmpty(p->weights_user, p->fwd_pd.weights_desc());
  p->to_bwd_data_weights = ReorderOrEmpty(p->weights_user, p->bwd_data_pd.weights_desc());
  p->from_diff_weights = ReorderOrEmpty(p->bwd_weights_pd.diff_weights_desc(), p->weights_user);
  return p;
}

ConvPrimitives& Primitives(const ConvKey& key) {
  static std::mutex mutex;
  static std::map<ConvKey, std::unique_ptr<ConvPrimitives>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[key];
  if (!slot) slot = BuildPrimitives(key);
  return *slot;
}

// Scratch space for one primitive execution on this thread (user scratchpad mode).
memory Scratchpad(const memory::desc& md, int slot) {
  thread_local std::vector<char> buffers[2];
  auto& buffer = buffers[slot];
  if (buffer.size() < md.get_size()) buffer.resize(md.get_size());
  return memory(md, CpuEngine(), buffer.data());
}

// The kernel in the layout `want`: XLA's HWIO buffer itself, or a reordered copy in `storage`.
memory WeightsIn(const ConvPrimitives& p, const memory::desc& want, const dnnl::reorder& reorder,
                 float* hwio, dnnl::stream& stream, std::vector<float>& storage) {
  memory user(p.weights_user, CpuEngine(), hwio);
  if (want == p.weights_user) return user;
  storage.resize(want.get_size() / sizeof(float));
  memory blocked(want, CpuEngine(), storage.data());
  reorder.execute(stream, user, blocked);
  return blocked;
}

template <typename T>
ConvKey KeyOf(const T& x, const T& w) {
  auto xd = x.dimensions();
  auto wd = w.dimensions();
  return {xd[0], xd[1], xd[2], xd[3], wd[3], wd[0], wd[1]};
}

ffi::Error CheckShapes(ffi::Buffer<ffi::F32>& x, ffi::Buffer<ffi::F32>& w) {
  if (x.dimensions().size() != 4 || w.dimensions().size() != 4)
    return ffi::Error(ffi::ErrorCode::kInvalidArgument, "pokeil conv: x and w must be rank 4");
  if (x.dimensions()[3] != w.dimensions()[2])
    return ffi::Error(ffi::ErrorCode::kInvalidArgument,
                      "pokeil conv: x channels != kernel input channels");
  return ffi::Error::Success();
}

ffi::Error ConvForwardImpl(ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> w,
                           ffi::Buffer<ffi::F32> b, ffi::ResultBuffer<ffi::F32> y) {
  if (auto err = CheckShapes(x, w); err.failure()) return err;
  try {
    auto& p = Primitives(KeyOf(x, w));
    auto& engine = CpuEngine();
    auto& stream = ThreadStream();
    std::vector<float> weights_storage;
    memory weights = WeightsIn(p, p.fwd_pd.weights_desc(), p.to_fwd_weights, w.typed_data(),
                               stream, weights_storage);
    p.fwd.execute(stream, {{DNNL_ARG_SRC, memory(p.src, engine, x.typed_data())},
                           {DNNL_ARG_WEIGHTS, weights},
                           {DNNL_ARG_BIAS, memory(p.bias, engine, b.typed_data())},
                           {DNNL_ARG_DST, memory(p.dst, engine, y->typed_data())},
                           {DNNL_ARG_SCRATCHPAD, Scratchpad(p.fwd_pd.scratchpad_desc(), 0)}});
    stream.wait();
  } catch (const dnnl::error& e) {
    return ffi::Error(ffi::ErrorCode::kInternal, std::string("oneDNN: ") + e.what());
  }
  return ffi::Error::Success();
}

// dw, db (and dx unless dx is null).
ffi::Error ConvBackward(ffi::Buffer<ffi::F32>& x, ffi::Buffer<ffi::F32>& w,
                        ffi::Buffer<ffi::F32>& dy, float* dx, float* dw, float* db) {
  if (auto err = CheckShapes(x, w); err.failure()) return err;
  try {
    auto& p = Primitives(KeyOf(x, w));
    auto& engine = CpuEngine();
    auto& stream = ThreadStream();
    memory diff_dst(p.dst, engine, dy.typed_data());
    if (dx != nullptr) {
      std::vector<float> weights_storage;
      memory weights = WeightsIn(p, p.bwd_data_pd.weights_desc(), p.to_bwd_data_weights,
                                 w.typed_data(), stream, weights_storage);
      p.bwd_data.execute(stream, {{DNNL_ARG_DIFF_DST, diff_dst},
                                  {DNNL_ARG_WEIGHTS, weights},
                                  {DNNL_ARG_DIFF_SRC, memory(p.src, engine, dx)},
                                  {DNNL_ARG_SCRATCHPAD,
                                   Scratchpad(p.bwd_data_pd.scratchpad_desc(), 0)}});
    }
    memory::desc want = p.bwd_weights_pd.diff_weights_desc();
    memory user(p.weights_user, engine, dw);
    std::vector<float> blocked_storage;
    memory diff_weights = user;
    if (!(want == p.weights_user)) {
      blocked_storage.resize(want.get_size() / sizeof(float));
      diff_weights = memory(want, engine, blocked_storage.data());
    }
    p.bwd_weights.execute(stream, {{DNNL_ARG_SRC, memory(p.src, engine, x.typed_data())},
                                   {DNNL_ARG_DIFF_DST, diff_dst},
                                   {DNNL_ARG_DIFF_WEIGHTS, diff_weights},
                                   {DNNL_ARG_DIFF_BIAS, memory(p.bias, engine, db)},
                                   {DNNL_ARG_SCRATCHPAD,
                                    Scratchpad(p.bwd_weights_pd.scratchpad_desc(), 1)}});
    if (!(want == p.weights_user)) p.from_diff_weights.execute(stream, diff_weights, user);
    stream.wait();
  } catch (const dnnl::error& e) {
    return ffi::Error(ffi::ErrorCode::kInternal, std::string("oneDNN: ") + e.what());
  }
  return ffi::Error::Success();
}

ffi::Error ConvBackwardImpl(ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> w,
                            ffi::Buffer<ffi::F32> dy, ffi::ResultBuffer<ffi::F32> dx,
                            ffi::ResultBuffer<ffi::F32> dw, ffi::ResultBuffer<ffi::F32> db) {
  return ConvBackward(x, w, dy, dx->typed_data(), dw->typed_data(), db->typed_data());
}

ffi::Error ConvBackwardWeightsImpl(ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> w,
                                   ffi::Buffer<ffi::F32> dy, ffi::ResultBuffer<ffi::F32> dw,
                                   ffi::ResultBuffer<ffi::F32> db) {
  return ConvBackward(x, w, dy, nullptr, dw->typed_data(), db->typed_data());
}


// ---- 3x3 stride-2 max-pool, XLA's SAME padding (NHWC) ----------------------------------------
// The forward pass also returns oneDNN's workspace (which input won each window) as opaque
// bytes; the backward pass routes each window's cotangent to that input.

using PoolKey = std::tuple<int64_t, int64_t, int64_t, int64_t>;  // N, H, W, C

struct PoolPrimitives {
  memory::desc src, dst;
  dnnl::pooling_forward::primitive_desc fwd_pd;
  dnnl::pooling_forward fwd;
  dnnl::pooling_backward::primitive_desc bwd_pd;
  dnnl::pooling_backward bwd;
};

int64_t PoolOut(int64_t size) { return (size + 1) / 2; }

std::unique_ptr<PoolPrimitives> BuildPool(const PoolKey& key) {
  auto [n, h, w, c] = key;
  auto& engine = CpuEngine();
  auto p = std::make_unique<PoolPrimitives>();
  int64_t oh = PoolOut(h), ow = PoolOut(w);
  p->src = memory::desc({n, c, h, w}, kF32, Tag::nhwc);
  p->dst = memory::desc({n, c, oh, ow}, kF32, Tag::nhwc);
  // SAME: total padding (out - 1) * 2 + 3 - size, the smaller half before the data.
  int64_t pad_h = (oh - 1) * 2 + 3 - h, pad_w = (ow - 1) * 2 + 3 - w;
  memory::dims strides{2, 2}, kernel{3, 3};
  memory::dims pad_l{pad_h / 2, pad_w / 2}, pad_r{pad_h - pad_h / 2, pad_w - pad_w / 2};
  auto attr = UserScratchpad();
  dnnl::pooling_forward::desc fwd_desc(dnnl::prop_kind::forward_training,
                                       dnnl::algorithm::pooling_max, p->src, p->dst, strides,
                                       kernel, pad_l, pad_r);
  p->fwd_pd = dnnl::pooling_forward::primitive_desc(fwd_desc, attr, engine);
  p->fwd = dnnl::pooling_forward(p->fwd_pd);
  dnnl::pooling_backward::desc bwd_desc(dnnl::algorithm::pooling_max, p->src, p->dst, strides,
                                        kernel, pad_l, pad_r);
  p->bwd_pd = dnnl::pooling_backward::primitive_desc(bwd_desc, attr, engine, p->fwd_pd);
  p->bwd = dnnl::pooling_backward(p->bwd_pd);
  return p;
}

PoolPrimitives& Pool(const PoolKey& key) {
  static std::mutex mutex;
  static std::map<PoolKey, std::unique_ptr<PoolPrimitives>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[key];
  if (!slot) slot = BuildPool(key);
  return *slot;
}

ffi::Error PoolForwardImpl(ffi::Buffer<ffi::F32> x, ffi::ResultBuffer<ffi::F32> y,
                           ffi::ResultBuffer<ffi::U8> workspace) {
  auto d = x.dimensions();
  if (d.size() != 4)
    return ffi::Error(ffi::ErrorCode::kInvalidArgument, "pokeil pool: x must be rank 4");
  try {
    auto& p = Pool({d[0], d[1], d[2], d[3]});
    if (workspace->size_bytes() != p.fwd_pd.workspace_desc().get_size())
      return ffi::Error(ffi::ErrorCode::kInvalidArgument, "pokeil pool: workspace size mismatch");
    auto& engine = CpuEngine();
    auto& stream = ThreadStream();
    p.fwd.execute(stream, {{DNNL_ARG_SRC, memory(p.src, engine, x.typed_data())},
                           {DNNL_ARG_DST, memory(p.dst, engine, y->typed_data())},
                           {DNNL_ARG_WORKSPACE,
                            memory(p.fwd_pd.workspace_desc(), engine, workspace->untyped_data())},
                           {DNNL_ARG_SCRATCHPAD, Scratchpad(p.fwd_pd.scratchpad_desc(), 0)}});
    stream.wait();
  } catch (const dnnl::error& e) {
    return ffi::Error(ffi::ErrorCode::kInternal, std::string("oneDNN: ") + e.what());
  }
  return ffi::Error::Success();
}

ffi::Error PoolBackwardImpl(ffi::Buffer<ffi::F32> dy, ffi::Buffer<ffi::U8> workspace,
                            ffi::ResultBuffer<ffi::F32> dx) {
  auto d = dx->dimensions();
  try {
    auto& p = Pool({d[0], d[1], d[2], d[3]});
    auto& engine = CpuEngine();
    auto& stream = ThreadStream();
    p.bwd.execute(stream, {{DNNL_ARG_DIFF_DST, memory(p.dst, engine, dy.typed_data())},
                           {DNNL_ARG_WORKSPACE,
                            memory(p.fwd_pd.workspace_desc(), engine, workspace.untyped_data())},
                           {DNNL_ARG_DIFF_SRC, memory(p.src, engine, dx->typed_data())},
                           {DNNL_ARG_SCRATCHPAD, Scratchpad(p.bwd_pd.scratchpad_desc(), 0)}});
    stream.wait();
  } catch (const dnnl::error& e) {
    return ffi::Error(ffi::ErrorCode::kInternal, std::string("oneDNN: ") + e.what());
  }
  return ffi::Error::Success();
}

}  // namespace

// Bytes of the pool's workspace for input (n, h, w, c): the shape of the forward pass's second
// result, asked for by Python at trace time. -1 if oneDNN cannot build the primitive.
extern "C" int64_t pokeil_pool_workspace_bytes(int64_t n, int64_t h, int64_t w, int64_t c) {
  try {
    return static_cast<int64_t>(Pool({n, h, w, c}).fwd_pd.workspace_desc().get_size());
  } catch (...) {
    return -1;
  }
}

XLA_FFI_DEFINE_HANDLER_SYMBOL(pokeil_pool_forward, PoolForwardImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::U8>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(pokeil_pool_backward, PoolBackwardImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::U8>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(pokeil_conv_forward, ConvForwardImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(pokeil_conv_backward, ConvBackwardImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(pokeil_conv_backward_weights, ConvBackwardWeightsImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());
