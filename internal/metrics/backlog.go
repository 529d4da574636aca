package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/prometheus/client_golang/prometheus"
)

// QueueTypes are the task types a backlog is reported for, by label.
var QueueTypes = map[string]enumspb.TaskQueueType{
	"workflow": enumspb.TASK_QUEUE_TYPE_WORKFLOW,
	"activity": enumspb.TASK_QUEUE_TYPE_ACTIVITY,
}

// Backlog is a task queue's backlog as the server estimates it.
type Backlog struct {
	Tasks   int64         // tasks waiting for a worker
	Age     time.Duration // how long the oldest has waited
	Pollers int           // workers polling
}

// QueueBacklog asks the server for one task queue's backlog of one type.
func QueueBacklog(ctx context.Context, c client.Client, namespace, queue string, typ enumspb.TaskQueueType) (Backlog, error) {
	resp, err := c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace: namespace, TaskQueue: &taskqueuepb.TaskQueue{Name: queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: typ, ReportStats: true,
	})
	if err != nil {
		return Backlog{}, fmt.Errorf("describe task queue %s (%s): %w", queue, typ, err)
	}
	st := resp.GetStats()
	return Backlog{Tasks: st.GetApproximateBacklogCount(), Age: st.GetApproximateBacklogAge().AsDuration(),
		Pollers: len(resp.GetPollers())}, nil
}

// WatchTaskQueues exports the backlog of the named task queues, asked of the
// server at each scrape: sightline_temporal_task_queue_backlog (tasks),
// _backlog_age_seconds and _pollers, by task_queue and type.
func (m *Metrics) WatchTaskQueues(c client.Client, namespace string, queues []string, log *slog.Logger) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(&backlogCollector{c: c, namespace: namespace, queues: queues, log: log})
}

var (
	backlogDesc = prometheus.NewDesc("sightline_temporal_task_queue_backlog",
		"Tasks waiting in a Temporal task queue (the server's estimate), by queue and task type.", []string{"task_queue", "type"}, nil)
	backlogAgeDesc = prometheus.NewDesc("sightline_temporal_task_queue_backlog_age_seconds",
		"How long the oldest waiting task of a Temporal task queue has waited.", []string{"task_queue", "type"}, nil)
	pollersDesc = prometheus.NewDesc("sightline_temporal_task_queue_pollers",
		"Workers polling a Temporal task queue.", []string{"task_queue", "type"}, nil)
)

type backlogCollector struct {
	c         client.Client
	namespace string
	queues    []string
	log       *slog.Logger
}

func (b *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- backlogDesc
	ch <- backlogAgeDesc
	ch <- pollersDesc
}

// Collect leaves out a queue the server does not answer for, so a scrape
// still returns everything else while Temporal restarts.
func (b *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, q := range b.queues {
		for label, typ := range QueueTypes {
			bl, err := QueueBacklog(ctx, b.c, b.namespace, q, typ)
			if err != nil {
				if b.log != nil {
					b.log.Warn("task queue backlog not scraped", "error", err)
				}
				continue
			}
			ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(bl.Tasks), q, label)
			ch <- prometheus.MustNewConstMetric(backlogAgeDesc, prometheus.GaugeValue, bl.Age.Seconds(), q, label)
			ch <- prometheus.MustNewConstMetric(pollersDesc, prometheus.GaugeValue, float64(bl.Pollers), q, label)
		}
	}
}
