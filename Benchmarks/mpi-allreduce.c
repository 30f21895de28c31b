// Times MPI_Allreduce(SUM, in place) of N floats: the pure communication cost of one step.
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int n = argc > 1 ? atoi(argv[1]) : 28967, reps = argc > 2 ? atoi(argv[2]) : 500, rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    float *b = calloc(n, sizeof(float));
    for (int i = 0; i < 20; i++) MPI_Allreduce(MPI_IN_PLACE, b, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    double t = MPI_Wtime();
    for (int i = 0; i < reps; i++) MPI_Allreduce(MPI_IN_PLACE, b, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    t = MPI_Wtime() - t;
    if (rank == 0) printf("{\"floats\": %d, \"bytes\": %d, \"reps\": %d, \"us_per_allreduce\": %.1f}\n", n, n * 4, reps, t / reps * 1e6);
    MPI_Finalize();
    return 0;
}
