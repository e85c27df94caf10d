# The Linux system calls and constants httpool's connection layer uses, and
# httpool's own C helpers in csrc/. All are declared nogil: the GIL is released
# around every call that can block.

cdef extern from "<sys/socket.h>" nogil:
    ctypedef unsigned int socklen_t
    ctypedef unsigned short sa_family_t
    struct sockaddr:
        pass
    struct iovec:
        void* iov_base
        size_t iov_len
    struct msghdr:
        void* msg_name
        socklen_t msg_namelen
        iovec* msg_iov
        size_t msg_iovlen
        void* msg_control
        size_t msg_controllen
        int msg_flags
    struct linger:
        int l_onoff
        int l_linger
    int AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOCK_NONBLOCK, SOCK_CLOEXEC
    int SOL_SOCKET, SO_ERROR, SO_LINGER, SO_RCVTIMEO
    int MSG_PEEK, MSG_DONTWAIT, MSG_NOSIGNAL
    int socket(int domain, int type, int protocol)
    int connect(int fd, const sockaddr* addr, socklen_t len)
    ssize_t recv(int fd, void* buf, size_t n, int flags)
    ssize_t sendmsg(int fd, const msghdr* msg, int flags)
    ssize_t send(int fd, const void* buf, size_t n, int flags)
    int getsockopt(int fd, int level, int name, void* value, socklen_t* len)
    int setsockopt(int fd, int level, int name, const void* value, socklen_t len)

cdef extern from "<sys/un.h>" nogil:
    struct sockaddr_un:
        sa_family_t sun_family
        char sun_path[108]

cdef extern from "<netinet/in.h>" nogil:
    int IPPROTO_TCP

cdef extern from "<netinet/tcp.h>" nogil:
    int TCP_NODELAY

cdef extern from "<netdb.h>" nogil:
    struct addrinfo:
        int ai_flags
        int ai_family
        int ai_socktype
        int ai_protocol
        socklen_t ai_addrlen
        sockaddr* ai_addr
        char* ai_canonname
        addrinfo* ai_next
    int AI_NUMERICHOST
    int getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res)
    void freeaddrinfo(addrinfo* res)
    const char* gai_strerror(int code)

cdef extern from "<sys/epoll.h>" nogil:
    union epoll_data_t:
        void* ptr
        int fd
    struct epoll_event:
        unsigned int events
        epoll_data_t data
    int EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP
    int EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL
    int epoll_create1(int flags)
    int epoll_ctl(int epfd, int op, int fd, epoll_event* event)
    int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout)

cdef extern from "<sys/eventfd.h>" nogil:
    int EFD_CLOEXEC, EFD_NONBLOCK
    int eventfd(unsigned int initval, int flags)

cdef extern from "<sys/time.h>" nogil:
    struct timeval:
        long tv_sec
        long tv_usec

cdef extern from "<fcntl.h>" nogil:
    int F_SETFL
    int fcntl(int fd, int cmd, int arg)

cdef extern from "<unistd.h>" nogil:
    int close(int fd)
    ssize_t read(int fd, void* buf, size_t n)
    ssize_t write(int fd, const void* buf, size_t n)

cdef extern from "<errno.h>" nogil:
    int errno
    int EAGAIN, EWOULDBLOCK, EINTR, EINPROGRESS, ECONNRESET, EPIPE, ECONNREFUSED, ENOENT, ETIMEDOUT
    int EPROTO

cdef extern from "<string.h>" nogil:
    char* strerror(int errnum)

cdef extern from "hp_wait.h" nogil:
    # Monotonic clock, seconds.
    double hp_now()
    # One epoll_wait until an absolute deadline (< 0: none): 1 ready (ev set),
    # 0 the deadline passed, -1 with errno (EINTR: call again for the time left).
    int hp_wait_until(int epfd, epoll_event* ev, double deadline)
