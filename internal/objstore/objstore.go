// Package objstore keeps frame chunks in an S3-compatible object store (MinIO).
package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Store reads and writes objects in one bucket.
type Store struct {
	client *minio.Client
	bucket string
}

// ErrNotFound is returned by Get for a key that does not exist.
var ErrNotFound = errors.New("object not found")

// New connects to endpoint (host:port, plain HTTP) and makes sure bucket exists.
func New(ctx context.Context, endpoint, accessKey, secretKey, bucket string) (*Store, error) {
	s, err := Dial(endpoint, accessKey, secretKey, bucket)
	if err != nil {
		return nil, err
	}
	if err := s.ensureBucket(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Dial returns a store for bucket without contacting the server, for
// readers that must start while the server is down and report it per call.
func Dial(endpoint, accessKey, secretKey, bucket string) (*Store, error) {
	client, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secretKey, "")})
	if err != nil {
		return nil, fmt.Errorf("objstore: client for %s: %w", endpoint, err)
	}
	return &Store{client: client, bucket: bucket}, nil
}

func (s *Store) ensureBucket(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("objstore: check bucket %q: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	if err := s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
		// Another process may have created it between the check and here.
		if resp := minio.ToErrorResponse(err); resp.Code == "BucketAlreadyOwnedByYou" || resp.Code == "BucketAlreadyExists" {
			return nil
		}
		return fmt.Errorf("objstore: create bucket %q: %w", s.bucket, err)
	}
	return nil
}

// Bucket is the bucket this store writes to.
func (s *Store) Bucket() string { return s.bucket }

// Client exposes the underlying client, for tests and maintenance.
func (s *Store) Client() *minio.Client { return s.client }

// Put writes data under key, replacing what was there: writes are idempotent.
func (s *Store) Put(ctx context.Context, key string, data []byte, contentType string) error {
	_, err := s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("objstore: put %s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// Get reads the whole object at key.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("objstore: get %s/%s: %w", s.bucket, key, err)
	}
	defer obj.Close()
	data, err := readAll(obj)
	if err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil, fmt.Errorf("objstore: get %s/%s: %w", s.bucket, key, ErrNotFound)
		}
		return nil, fmt.Errorf("objstore: read %s/%s: %w", s.bucket, key, err)
	}
	return data, nil
}

// Ready reports whether the server answers.
func (s *Store) Ready(ctx context.Context) error {
	if _, err := s.client.BucketExists(ctx, s.bucket); err != nil {
		return fmt.Errorf("objstore: %s unreachable: %w", s.client.EndpointURL().Host, err)
	}
	return nil
}

// Remove deletes the object at key; a missing object is not an error, so
// removing is idempotent.
func (s *Store) Remove(ctx context.Context, key string) error {
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("objstore: remove %s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// RemovePrefix deletes every object whose key starts with prefix and
// returns how many there were.
func (s *Store) RemovePrefix(ctx context.Context, prefix string) (int, error) {
	var keys []minio.ObjectInfo
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return 0, fmt.Errorf("objstore: list %s/%s: %w", s.bucket, prefix, o.Err)
		}
		keys = append(keys, o)
	}
	objs := make(chan minio.ObjectInfo, len(keys))
	for _, o := range keys {
		objs <- o
	}
	close(objs)
	for r := range s.client.RemoveObjects(ctx, s.bucket, objs, minio.RemoveObjectsOptions{}) {
		if r.Err != nil {
			return 0, fmt.Errorf("objstore: remove %s/%s: %w", s.bucket, r.ObjectName, r.Err)
		}
	}
	return len(keys), nil
}

// readAll reads an object into a buffer of its size, which the first
// response gave, rather than growing one: chunks are megabytes.
func readAll(obj *minio.Object) ([]byte, error) {
	var buf bytes.Buffer
	if st, err := obj.Stat(); err == nil && st.Size > 0 {
		buf.Grow(int(st.Size) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(obj)
	return buf.Bytes(), err
}
