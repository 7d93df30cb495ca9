/*
 * floor — a minimal raw-epoll WebSocket fan-out server: the physical floor
 * a fan-out server's cost can be compared with.
 *
 * It accepts connections, answers the upgrade with the smallest valid 101,
 * and whenever a connection sends a text frame containing "broadcast" it
 * builds one unmasked frame, {"type":"broadcast","from":"<id>","data":
 * <data>} (the bytes herald sends for the same message), and send()s those
 * bytes to every open connection, the sender included. Nothing else: no
 * library, no per-recipient copy or allocation, no queue but a shared ring
 * of recent frames for sockets whose send buffer is full. What is left is
 * the kernel's price of one send() per recipient, which is what the fanout
 * scenario's deliveries per server CPU-second of herald are divided by.
 *
 * Thread: one thread, one epoll loop (the main thread).
 * Ownership: the connection table (one slot per possible descriptor), the
 * read buffer and the frame ring are allocated once at start; a connection
 * allocates only when a frame straddles two reads (its leftover bytes), and
 * that buffer is kept until it closes.
 */
#ifndef HB_FLOOR_H
#define HB_FLOOR_H

/* `herald-bench floor [flags]`: serves until -d passes or SIGTERM/SIGINT,
 * then prints one JSON line; returns the process exit status. */
int floor_main(int argc, char **argv);

#endif
