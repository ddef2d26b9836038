// N-API surface: every function takes Float32Arrays (tfjs cpu tensors' own storage) and writes its output in place.
#include <napi.h>

#include <vector>

#include "gemm.h"
#include "kernels.h"
#include "threadpool.h"

namespace {

using kiln::ConvGeom;

const float* f32(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return nullptr;
  return v.As<Napi::Float32Array>().Data();
}
float* f32Out(const Napi::Value& v) { return v.As<Napi::Float32Array>().Data(); }
long f32Len(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return 0;
  return static_cast<long>(v.As<Napi::Float32Array>().ElementLength());
}
long num(const Napi::Value& v) { return static_cast<long>(v.As<Napi::Number>().Int64Value()); }
std::vector<long> longs(const Napi::Value& v) {
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  return std::vector<long>(a.Data(), a.Data() + a.ElementLength());
}

ConvGeom geom(const Napi::Value& v) {
  std::vector<long> g = longs(v);
  return ConvGeom{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14]};
}

// matmul(a, b, c, batchA, batchB, m, n, k, transA, transB, bias|null, activation, alpha)
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  const float* a = f32(info[0]);
  const float* b = f32(info[1]);
  float* c = f32Out(info[2]);
  long batchA = num(info[3]), batchB = num(info[4]), m = num(info[5]), n = num(info[6]), k = num(info[7]);
  bool ta = info[8].As<Napi::Boolean>(), tb = info[9].As<Napi::Boolean>();
  const float* bias = f32(info[10]);
  int activation = static_cast<int>(num(info[11]));
  float alpha = info[12].As<Napi::Number>().FloatValue();
  long batch = batchA > batchB ? batchA : batchB;
  long lda = ta ? m : k, ldb = tb ? k : n;
  if (batch == 1) {
    kiln::gemm(ta, tb, m, n, k, a, lda, b, ldb, c, n, false);
  } else if (batch >= kiln::pool().size() && 2.0 * m * n * k < 5e7) {
    kiln::parallelFor(batch, 1, [&](long b0, long b1, int) {
      for (long i = b0; i < b1; i++)
        kiln::gemmSerial(ta, tb, m, n, k, a + (i % batchA) * m * k, lda, b + (i % batchB) * k * n, ldb, c + i * m * n, n, false);
    });
  } else {
    for (long i = 0; i < batch; i++)
      kiln::gemm(ta, tb, m, n, k, a + (i % batchA) * m * k, lda, b + (i % batchB) * k * n, ldb, c + i * m * n, n, false);
  }
  kiln::biasActivation(c, batch * m, n, bias, activation, alpha);
  return info.Env().Undefined();
}

// conv2d(geom, x, f, y, bias|null, activation, alpha)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  ConvGeom g = geom(info[0]);
  float* y = f32Out(info[3]);
  kiln::conv2d(g, f32(info[1]), f32(info[2]), y);
  kiln::biasActivation(y, g.batch * g.outH * g.outW, g.outC, f32(info[4]), static_cast<int>(num(info[5])),
                       info[6].As<Napi::Number>().FloatValue());
  return info.Env().Undefined();
}

Napi::Value DepthwiseConv2d(const Napi::CallbackInfo& info) {
  ConvGeom g = geom(info[0]);
  float* y = f32Out(info[3]);
  kiln::depthwiseConv2d(g, f32(info[1]), f32(info[2]), y);
  kiln::biasActivation(y, g.batch * g.outH * g.outW, g.outC, f32(info[4]), static_cast<int>(num(info[5])),
                       info[6].As<Napi::Number>().FloatValue());
  return info.Env().Undefined();
}

template <void (*Fn)(const ConvGeom&, const float*, const float*, float*)>
Napi::Value Geom2In(const Napi::CallbackInfo& info) {
  Fn(geom(info[0]), f32(info[1]), f32(info[2]), f32Out(info[3]));
  return info.Env().Undefined();
}

template <void (*Fn)(const ConvGeom&, const float*, float*)>
Napi::Value Geom1In(const Napi::CallbackInfo& info) {
  Fn(geom(info[0]), f32(info[1]), f32Out(info[2]));
  return info.Env().Undefined();
}

// binary(op, a, b, out, shape, aStrides, bStrides)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  std::vector<long> shape = longs(info[4]), as = longs(info[5]), bs = longs(info[6]);
  kiln::binary(static_cast<int>(num(info[0])), f32(info[1]), f32(info[2]), f32Out(info[3]),
               static_cast<int>(shape.size()), shape.data(), as.data(), bs.data());
  return info.Env().Undefined();
}

// unary(op, x, y, alpha)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  kiln::unary(static_cast<int>(num(info[0])), f32(info[1]), f32Out(info[2]), f32Len(info[1]),
              info[3].As<Napi::Number>().FloatValue());
  return info.Env().Undefined();
}

// batchNorm(x, y, channels, mean, variance, offset|null, scale|null, eps)
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  kiln::batchNorm(f32(info[0]), f32Out(info[1]), f32Len(info[0]), num(info[2]), f32(info[3]), f32Len(info[3]),
                  f32(info[4]), f32Len(info[4]), f32(info[5]), f32Len(info[5]), f32(info[6]), f32Len(info[6]),
                  info[7].As<Napi::Number>().FloatValue());
  return info.Env().Undefined();
}

// batchNormGrad(x, dy, mean, variance, scale|null, eps, dx, dmean, dvar, dscale, doffset)
Napi::Value BatchNormGrad(const Napi::CallbackInfo& info) {
  long c = f32Len(info[2]);
  kiln::batchNormGrad(f32(info[0]), f32(info[1]), f32Len(info[0]), c, f32(info[2]), f32(info[3]), f32(info[4]),
                      info[5].As<Napi::Number>().FloatValue(), f32Out(info[6]), f32Out(info[7]), f32Out(info[8]),
                      f32Out(info[9]), f32Out(info[10]));
  return info.Env().Undefined();
}

// batchNormTrain(x, scale, offset, eps, y, mean, variance)
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  kiln::batchNormTrain(f32(info[0]), f32Len(info[0]), f32Len(info[1]), f32(info[1]), f32(info[2]),
                       info[3].As<Napi::Number>().FloatValue(), f32Out(info[4]), f32Out(info[5]), f32Out(info[6]));
  return info.Env().Undefined();
}

// batchNormTrainGrad(dy, x, scale, mean, variance, dmean|null, dvariance|null, eps, dx, dscale, doffset)
Napi::Value BatchNormTrainGrad(const Napi::CallbackInfo& info) {
  kiln::batchNormTrainGrad(f32(info[0]), f32(info[1]), f32Len(info[1]), f32Len(info[2]), f32(info[2]), f32(info[3]),
                           f32(info[4]), f32(info[5]), f32(info[6]), info[7].As<Napi::Number>().FloatValue(),
                           f32Out(info[8]), f32Out(info[9]), f32Out(info[10]));
  return info.Env().Undefined();
}

// softmax(x, y, cols)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  long cols = num(info[2]);
  kiln::softmax(f32(info[0]), f32Out(info[1]), f32Len(info[0]) / cols, cols);
  return info.Env().Undefined();
}

// reduceSum(x, y, outer, reduce, inner)
Napi::Value ReduceSum(const Napi::CallbackInfo& info) {
  kiln::reduceSum(f32(info[0]), f32Out(info[1]), num(info[2]), num(info[3]), num(info[4]));
  return info.Env().Undefined();
}

// transpose(x, y, shape, perm)
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  std::vector<long> shape = longs(info[2]), perm = longs(info[3]);
  kiln::transpose(f32(info[0]), f32Out(info[1]), static_cast<int>(shape.size()), shape.data(), perm.data());
  return info.Env().Undefined();
}

// stridedCopy(x, xOffset, xStrides, y, yOffset, yStrides, shape)
Napi::Value StridedCopy(const Napi::CallbackInfo& info) {
  std::vector<long> xs = longs(info[2]), ys = longs(info[5]), shape = longs(info[6]);
  kiln::stridedCopy(f32(info[0]), num(info[1]), xs.data(), f32Out(info[3]), num(info[4]), ys.data(),
                    static_cast<int>(shape.size()), shape.data());
  return info.Env().Undefined();
}

// fill(y, value)
Napi::Value Fill(const Napi::CallbackInfo& info) {
  kiln::fill(f32Out(info[0]), f32Len(info[0]), info[1].As<Napi::Number>().FloatValue());
  return info.Env().Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("isa", kiln::microKernel().isa);
  out.Set("threads", kiln::pool().size());
  out.Set("avx2", kiln::cpuHas("avx2"));
  out.Set("avx512", kiln::cpuHas("avx512"));
#if defined(__SANITIZE_ADDRESS__)
  out.Set("sanitized", true);
#else
  out.Set("sanitized", false);
#endif
  return out;
}

Napi::Value SelectIsa(const Napi::CallbackInfo& info) {
  std::string isa = info[0].As<Napi::String>();
  return Napi::String::New(info.Env(), kiln::selectIsa(isa.c_str()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("matMul", Napi::Function::New(env, MatMul));
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Geom2In<kiln::conv2dBackpropInput>));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Geom2In<kiln::conv2dBackpropFilter>));
  exports.Set("depthwiseConv2d", Napi::Function::New(env, DepthwiseConv2d));
  exports.Set("depthwiseBackpropInput", Napi::Function::New(env, Geom2In<kiln::depthwiseBackpropInput>));
  exports.Set("depthwiseBackpropFilter", Napi::Function::New(env, Geom2In<kiln::depthwiseBackpropFilter>));
  exports.Set("maxPool", Napi::Function::New(env, Geom1In<kiln::maxPool>));
  exports.Set("avgPool", Napi::Function::New(env, Geom1In<kiln::avgPool>));
  exports.Set("maxPoolGrad", Napi::Function::New(env, Geom2In<kiln::maxPoolGrad>));
  exports.Set("avgPoolGrad", Napi::Function::New(env, Geom1In<kiln::avgPoolGrad>));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm));
  exports.Set("batchNormGrad", Napi::Function::New(env, BatchNormGrad));
  exports.Set("batchNormTrain", Napi::Function::New(env, BatchNormTrain));
  exports.Set("batchNormTrainGrad", Napi::Function::New(env, BatchNormTrainGrad));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("reduceSum", Napi::Function::New(env, ReduceSum));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("stridedCopy", Napi::Function::New(env, StridedCopy));
  exports.Set("fill", Napi::Function::New(env, Fill));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("selectIsa", Napi::Function::New(env, SelectIsa));
  return exports;
}

}  // namespace

NODE_API_MODULE(kiln_native, Init)
