# The system calls of a listening socket and its clients, which only
# httpool.bench._server (the fixed-response server of `python -m httpool bench`)
# uses. Those the client uses too (socket, epoll, eventfd, errno) stay in
# httpool._sys. All are declared nogil, as there.

from httpool._sys cimport sockaddr, socklen_t

cdef extern from "<sys/socket.h>" nogil:
    ctypedef unsigned short sa_family_t
    int SO_REUSEADDR
    int bind(int fd, const sockaddr* addr, socklen_t len)
    int listen(int fd, int backlog)
    int accept4(int fd, sockaddr* addr, socklen_t* len, int flags)
    int getsockname(int fd, sockaddr* addr, socklen_t* len)
    ssize_t send(int fd, const void* buf, size_t n, int flags)

cdef extern from "<netinet/in.h>" nogil:
    struct in_addr:
        unsigned int s_addr
    struct sockaddr_in:
        sa_family_t sin_family
        unsigned short sin_port
        in_addr sin_addr
    unsigned short htons(unsigned short host_short)
    unsigned short ntohs(unsigned short net_short)

cdef extern from "<arpa/inet.h>" nogil:
    # 1 when src is a valid address of family af (written to dst), else 0.
    int inet_pton(int af, const char* src, void* dst)

cdef extern from "<sys/epoll.h>" nogil:
    int EPOLLET

cdef extern from "<string.h>" nogil:
    void* memmem(const void* haystack, size_t haystack_len, const void* needle, size_t needle_len)

cdef extern from "<strings.h>" nogil:
    int strncasecmp(const char* a, const char* b, size_t n)
