package metrics

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"math"
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The V2 encoding's cookies, with the word size (8 bytes) folded in as
// every HdrHistogram implementation writes them.
const (
	v2Cookie           = hdrhistogram.V2EncodingCookieBase | 0x10
	v2CompressedCookie = hdrhistogram.V2CompressedEncodingCookieBase | 0x10
)

// zlibWriters are reused: a new zlib writer allocates most of a megabyte,
// and a result with many actions encodes many histograms.
var zlibWriters = sync.Pool{New: func() any {
	w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed)
	return w
}}

// denseScratch are dense histograms to encode packed ones through.
var denseScratch = sync.Pool{New: func() any { return newHistogram() }}

// encodePacked encodes p as encodeHistogram does, through a dense copy.
func encodePacked(p *hdrhistogram.PackedHistogram) string {
	h := denseScratch.Get().(*hdrhistogram.Histogram)
	p.MergeInto(h)
	s := encodeHistogram(h)
	h.Reset()
	denseScratch.Put(h)
	return s
}

// encodeHistogram writes h in HdrHistogram's compressed V2 form, base64:
// a 40-byte header (cookie, payload length, normalizing offset, significant
// digits, lowest and highest trackable values, integer-to-double ratio),
// then the counts as ZigZag LEB128 varints where a negative value is a run
// of that many empty buckets, the whole deflated (zlib) behind its own
// cookie and length. The library's own encoder does the same, at several
// times the cost; hdrhistogram.Decode (and the Java and C decoders) read
// either.
func encodeHistogram(h *hdrhistogram.Histogram) string {
	snap := h.Export()
	counts := snap.Counts
	last := len(counts) - 1
	for last >= 0 && counts[last] == 0 {
		last--
	}
	payload := make([]byte, 40, 40+2*(last+1))
	for i := 0; i <= last; {
		if counts[i] != 0 {
			payload = appendZigZag(payload, counts[i])
			i++
			continue
		}
		run := 0
		for i <= last && counts[i] == 0 {
			run++
			i++
		}
		if run == 1 {
			payload = appendZigZag(payload, 0)
		} else {
			payload = appendZigZag(payload, -int64(run))
		}
	}
	ratio := snap.IntegerToDoubleConversionRatio
	if ratio == 0 {
		ratio = 1
	}
	be := binary.BigEndian
	be.PutUint32(payload[0:], uint32(v2Cookie))
	be.PutUint32(payload[4:], uint32(len(payload)-40))
	be.PutUint32(payload[8:], 0) // normalizing index offset
	be.PutUint32(payload[12:], uint32(snap.SignificantFigures))
	be.PutUint64(payload[16:], uint64(snap.LowestTrackableValue))
	be.PutUint64(payload[24:], uint64(snap.HighestTrackableValue))
	be.PutUint64(payload[32:], math.Float64bits(ratio))

	var out bytes.Buffer
	out.Write(make([]byte, 8)) // cookie and length, filled in below
	w := zlibWriters.Get().(*zlib.Writer)
	w.Reset(&out)
	_, _ = w.Write(payload) // a bytes.Buffer does not fail
	_ = w.Close()
	zlibWriters.Put(w)
	b := out.Bytes()
	be.PutUint32(b[0:], uint32(v2CompressedCookie))
	be.PutUint32(b[4:], uint32(len(b)-8))
	return base64.StdEncoding.EncodeToString(b)
}

// appendZigZag appends v ZigZag-encoded as the V2 format's LEB128 variant:
// up to 8 bytes of 7 bits, then a 9th byte of 8.
func appendZigZag(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for i := 0; i < 8; i++ {
		if u < 0x80 {
			return append(b, byte(u))
		}
		b = append(b, byte(u&0x7f)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}
