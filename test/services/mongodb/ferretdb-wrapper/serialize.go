package main

// FerretDB v1 applies an update by reading the matching document, changing
// it in Go and writing it back, without any lock or transaction around the
// three steps. Two concurrent `$inc`s on one document can therefore both
// report modifiedCount 1 while only one increment survives, and concurrent
// upserts of one key insert twice (the second fails with E11000). MongoDB
// makes each single-document write atomic, so tests of code that counts
// occurrences with `$inc` would fail against plain FerretDB for reasons that
// have nothing to do with the code under test.
//
// serializer is a tiny wire-protocol relay placed in front of FerretDB: it
// forwards each request to FerretDB over a per-client connection and holds
// one process-wide mutex from sending the request until the reply has been
// read, so FerretDB executes one command at a time. That is stricter than
// MongoDB (which also runs operations on different documents in parallel),
// but never weaker.
//
// The relay also fixes unacknowledged writes (w:0): FerretDB v1 answers them
// although the driver expects no answer, which desynchronises the connection.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
)

const (
	opMsg = 2013

	// OP_MSG flag bit: the sender expects no reply.
	flagMoreToCome = 1 << 1

	headerLen = 16
	// FerretDB advertises maxMessageSizeBytes 48000000; allow a little slack.
	maxMessageLen = 64 << 20
)

type serializer struct {
	backend string // FerretDB's own (internal) TCP address
	logger  *slog.Logger

	mu sync.Mutex // held while FerretDB processes a command
}

// serve accepts clients on ln until ctx is done.
func (s *serializer) serve(ctx context.Context, ln net.Listener) {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	var wg sync.WaitGroup
	defer wg.Wait()

	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Error("serializer: accept failed", "error", err)
			}
			return
		}

		wg.Add(1)
		go func() {
			defer wg.Done()
			s.relay(ctx, conn)
		}()
	}
}

// relay serves one client connection.
func (s *serializer) relay(ctx context.Context, client net.Conn) {
	defer client.Close()

	backend, err := net.Dial("tcp", s.backend)
	if err != nil {
		s.logger.Error("serializer: cannot reach FerretDB", "error", err)
		return
	}
	defer backend.Close()

	stop := context.AfterFunc(ctx, func() {
		client.Close()
		backend.Close()
	})
	defer stop()

	fromClient := bufio.NewReader(client)
	fromBackend := bufio.NewReader(backend)

	for {
		request, err := readMessage(fromClient)
		if err != nil {
			s.logDisconnect("client", err)
			return
		}

		reply, err := s.roundTrip(backend, fromBackend, request)
		if err != nil {
			s.logDisconnect("FerretDB", err)
			return
		}

		// A request flagged moreToCome (unacknowledged write, w:0) must get
		// no reply, but FerretDB v1 ignores the flag and answers anyway;
		// passing that answer on would hand it to the driver's next command
		// on this connection. Drop it.
		if moreToCome(request) {
			continue
		}

		if _, err := client.Write(reply); err != nil {
			s.logDisconnect("client", err)
			return
		}
	}
}

// roundTrip sends one request to FerretDB and reads its reply, both under
// the global mutex. FerretDB answers every message it can parse (and closes
// the connection otherwise), so a reply always follows.
func (s *serializer) roundTrip(backend net.Conn, fromBackend *bufio.Reader, request []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if _, err := backend.Write(request); err != nil {
		return nil, err
	}

	return readMessage(fromBackend)
}

func (s *serializer) logDisconnect(side string, err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return
	}
	s.logger.Debug("serializer: connection ended", "side", side, "error", err)
}

// readMessage reads one complete wire-protocol message (header included).
func readMessage(r *bufio.Reader) ([]byte, error) {
	var header [headerLen]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return nil, err
	}

	length := int(int32(binary.LittleEndian.Uint32(header[0:4])))
	if length < headerLen || length > maxMessageLen {
		return nil, fmt.Errorf("bad message length %d", length)
	}

	msg := make([]byte, length)
	copy(msg, header[:])
	if _, err := io.ReadFull(r, msg[headerLen:]); err != nil {
		return nil, err
	}

	return msg, nil
}

// moreToCome tells whether an OP_MSG has the moreToCome flag: for a request,
// the client expects no reply. (OP_COMPRESSED would hide the flags, but
// FerretDB offers no compression, so drivers never send it.)
func moreToCome(msg []byte) bool {
	if len(msg) < headerLen+4 || binary.LittleEndian.Uint32(msg[12:16]) != opMsg {
		return false
	}

	return binary.LittleEndian.Uint32(msg[16:20])&flagMoreToCome != 0
}
