// Umbrella header for the parts of the LLVM 19 C API that MetaJIT's `JIT` module uses.
// Only `JIT` imports this module: LLVM version drift has one home.
#ifndef METAJIT_CLLVM_SHIM_H
#define METAJIT_CLLVM_SHIM_H

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/IRReader.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/OrcEE.h>
#include <llvm-c/Support.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#endif
