/*
 * The bench's link delay: holds every packet of NFQUEUE queue 0 for a fixed time, then accepts it, in order.
 *   hold-packets <microseconds>
 * Run inside the bench's own network namespace, where iptables sends every TCP packet of the loopback's INPUT
 * chain to queue 0: each packet crosses the queue once, so the round-trip time is twice the hold. The kernel's TCP
 * stays end to end (handshake, Nagle, delayed acknowledgements, slow start behave as on a real link). netem is not
 * available on these machines (no sch_netem); this is what the latency notes found to work.
 * Exits on SIGTERM or SIGINT, accepting every packet still held.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <time.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define CAPACITY 65536

struct held {
    uint32_t id;
    uint64_t due_us;
};

static struct held ring[CAPACITY];
static size_t head, count;
static uint64_t hold_us;
static volatile sig_atomic_t stopping;

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int on_packet(struct nfq_q_handle *queue, struct nfgenmsg *message, struct nfq_data *data, void *unused) {
    (void)message;
    (void)unused;
    struct nfqnl_msg_packet_hdr *header = nfq_get_msg_packet_hdr(data);
    if (!header) return 0;
    uint32_t id = ntohl(header->packet_id);
    if (count == CAPACITY) return nfq_set_verdict(queue, id, NF_ACCEPT, 0, NULL);
    ring[(head + count) % CAPACITY] = (struct held){id, now_us() + hold_us};
    count++;
    return 0;
}

static void release_due(struct nfq_q_handle *queue, int all) {
    uint64_t now = now_us();
    while (count > 0 && (all || ring[head].due_us <= now)) {
        nfq_set_verdict(queue, ring[head].id, NF_ACCEPT, 0, NULL);
        head = (head + 1) % CAPACITY;
        count--;
    }
}

static void on_signal(int signal) {
    (void)signal;
    stopping = 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: hold-packets <microseconds>\n");
        return 2;
    }
    hold_us = strtoull(argv[1], NULL, 10);
    struct nfq_handle *handle = nfq_open();
    if (!handle) {
        perror("nfq_open");
        return 1;
    }
    struct nfq_q_handle *queue = nfq_create_queue(handle, 0, on_packet, NULL);
    if (!queue || nfq_set_mode(queue, NFQNL_COPY_META, 0) < 0) {
        perror("nfq_create_queue");
        return 1;
    }
    nfq_set_queue_maxlen(queue, CAPACITY);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    int fd = nfq_fd(handle);
    char buffer[65536] __attribute__((aligned));
    printf("ready\n");
    fflush(stdout);
    while (!stopping) {
        struct timespec wait = {0, 0};
        struct timespec *timeout = NULL;
        if (count > 0) {
            uint64_t now = now_us();
            uint64_t left = ring[head].due_us > now ? ring[head].due_us - now : 0;
            wait.tv_sec = (time_t)(left / 1000000u);
            wait.tv_nsec = (long)(left % 1000000u) * 1000;
            timeout = &wait;
        }
        struct pollfd pfd = {fd, POLLIN, 0};
        int ready = ppoll(&pfd, 1, timeout, NULL);
        if (ready > 0) {
            ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
            if (n > 0) nfq_handle_packet(handle, buffer, (int)n);
            else if (n < 0 && errno == ENOBUFS) fprintf(stderr, "hold-packets: queue overflow (ENOBUFS)\n");
        }
        release_due(queue, 0);
    }
    release_due(queue, 1);
    nfq_destroy_queue(queue);
    nfq_close(handle);
    return 0;
}
