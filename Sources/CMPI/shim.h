// The parts of the MPI C API that MetaJIT's `Distributed` module uses (Open MPI from Debian's
// libopenmpi-dev, found through pkg-config `ompi-c`). Only `Distributed` imports this module.
//
// MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros over addresses of
// library globals, which Swift cannot import; the inline functions below name them.
#ifndef METAJIT_CMPI_SHIM_H
#define METAJIT_CMPI_SHIM_H

#include <mpi.h>

/// MPI_COMM_WORLD.
static inline MPI_Comm metajit_mpi_comm_world(void) { return MPI_COMM_WORLD; }

/// MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided); returns the MPI error code.
static inline int metajit_mpi_init(int *provided) {
    return MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, provided);
}

/// Makes errors on MPI_COMM_WORLD return codes instead of aborting inside the library, so the
/// caller can name the failure before it aborts the job.
static inline int metajit_mpi_errors_return(void) {
    return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

/// In-place sum of `count` floats over every rank of MPI_COMM_WORLD.
static inline int metajit_mpi_allreduce_sum_f32(float *buffer, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}

/// Broadcast of `count` floats from `root` to every rank of MPI_COMM_WORLD.
static inline int metajit_mpi_bcast_f32(float *buffer, int count, int root) {
    return MPI_Bcast(buffer, count, MPI_FLOAT, root, MPI_COMM_WORLD);
}

/// Broadcast of `count` int64 values from `root`.
static inline int metajit_mpi_bcast_i64(long long *buffer, int count, int root) {
    return MPI_Bcast(buffer, count, MPI_LONG_LONG, root, MPI_COMM_WORLD);
}

/// This process's rank and the number of ranks in MPI_COMM_WORLD.
static inline int metajit_mpi_rank(int *rank) { return MPI_Comm_rank(MPI_COMM_WORLD, rank); }
static inline int metajit_mpi_size(int *size) { return MPI_Comm_size(MPI_COMM_WORLD, size); }

/// Aborts every rank of MPI_COMM_WORLD with `code`.
static inline int metajit_mpi_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }

/// MPI_Barrier(MPI_COMM_WORLD).
static inline int metajit_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }

#endif
