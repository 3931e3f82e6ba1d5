package node

import (
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"

	"baluchon/proto"
)

// Outbound streams of all peers on one baluchon protocol, and those of the
// baluchon service as a whole.
const (
	protocolStreamsOut = 256
	serviceStreamsIn   = 256
	serviceStreamsOut  = 512
	servicePeerStreams = 32
)

// addProtocolLimits gives the resource manager the limits of baluchon's
// protocols (proto.Limits): streams and memory per protocol and per peer,
// and for the baluchon service as a whole. A stream over a limit is
// refused before its protocol's handler runs; a message whose memory
// would go over one is dropped as it grows.
func addProtocolLimits(cfg *rcmgr.ScalingLimitConfig) {
	for _, l := range proto.Limits() {
		cfg.AddProtocolLimit(l.Protocol, rcmgr.BaseLimit{
			StreamsInbound:  l.StreamsIn,
			StreamsOutbound: protocolStreamsOut,
			Streams:         l.StreamsIn + protocolStreamsOut,
			Memory:          l.Memory,
		}, rcmgr.BaseLimitIncrease{})
		cfg.AddProtocolPeerLimit(l.Protocol, rcmgr.BaseLimit{
			StreamsInbound:  l.PeerStreamsIn,
			StreamsOutbound: l.PeerStreamsOut,
			Streams:         l.PeerStreamsIn + l.PeerStreamsOut,
			Memory:          l.PeerMemory,
		}, rcmgr.BaseLimitIncrease{})
	}
	cfg.AddServiceLimit(proto.ServiceName, rcmgr.BaseLimit{
		StreamsInbound:  serviceStreamsIn,
		StreamsOutbound: serviceStreamsOut,
		Streams:         serviceStreamsIn + serviceStreamsOut,
		Memory:          proto.ServiceMemory,
	}, rcmgr.BaseLimitIncrease{})
	cfg.AddServicePeerLimit(proto.ServiceName, rcmgr.BaseLimit{
		StreamsInbound:  servicePeerStreams,
		StreamsOutbound: 2 * servicePeerStreams,
		Streams:         3 * servicePeerStreams,
		Memory:          proto.ServicePeerMemory,
	}, rcmgr.BaseLimitIncrease{})
}
