"""Constants of the Net Stabilization integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "net_stabilization"
LOGGER = logging.getLogger(__package__)

# Connection (config entry data)
CONF_NETWORKS: Final = "networks"
CONF_HOSTS: Final = "hosts"
CONF_API_PORT: Final = "api_port"
CONF_WEB_PORT: Final = "web_port"

# Behaviour (config entry options)
CONF_POWER_MODE: Final = "power_mode"
CONF_POLL_INTERVAL: Final = "poll_interval"
CONF_SNAPSHOT_INTERVAL: Final = "snapshot_interval"
CONF_RETENTION_HOURS: Final = "retention_hours"
CONF_RESCAN_INTERVAL: Final = "rescan_interval"
CONF_EMS_NETWORKS: Final = "ems_networks"
CONF_METER_ENTITY: Final = "meter_entity"
CONF_TEMP_LIMIT: Final = "temperature_limit"
CONF_TARGET_POLICY: Final = "target_policy"
CONF_MINER_ENTITIES: Final = "miner_entities"
CONF_EMS_USER: Final = "ems_user"  # a non-admin user that may control the fleet over the EMS API
CONF_MAX_MINERS: Final = "max_miners"
CONF_RESTORE_MAX_AGE: Final = "restore_max_age"  # minutes
CONF_TRIP_ENTITY: Final = "safety_trip_entity"  # off: the fleet is held at 0 W
CONF_LIMIT_ENTITY: Final = "site_limit_entity"  # a cap in W, kW, MW or % of rated power
CONF_GRID_IMPORT_ENTITY: Final = "grid_import_entity"  # the site's import at its connection
CONF_GRID_LIMIT_KW: Final = "grid_limit_kw"  # what the connection may import; 0: no limit
CONF_STRATEGY: Final = "strategy"  # what the fleet follows while the EMS is idle
CONF_STRATEGY_POLICY: Final = "strategy_policy"  # while the EMS is idle, or never with one
CONF_STRATEGY_BAND_W: Final = "strategy_band_w"  # a smaller change of target is not followed
CONF_STRATEGY_MIN_ON_S: Final = "strategy_min_on_s"  # once started, the fleet runs this long
CONF_STRATEGY_MIN_OFF_S: Final = "strategy_min_off_s"  # once stopped, it rests this long
CONF_PV_RESERVE_W: Final = "pv_reserve_w"  # export left unabsorbed
CONF_FEED_IN_LIMIT_KW: Final = "feed_in_limit_kw"  # the most the site may export; 0: no limit
CONF_PRICE_ENTITY: Final = "price_entity"  # the energy price now (per kWh or MWh)
CONF_PRICE_THRESHOLD: Final = "price_threshold"  # per kWh; empty: the break-even decides
CONF_PRICE_HYSTERESIS: Final = "price_hysteresis"  # per kWh below the limit to start
CONF_HASHPRICE_ENTITY: Final = "hashprice_entity"  # e.g. USD/PH/day
CONF_HASHPRICE: Final = "hashprice"  # per TH/s and day, when no entity says it
CONF_PEAK_LIMIT_KW: Final = "peak_import_limit_kw"  # site import to stay under
CONF_FREQUENCY_ENTITY: Final = "frequency_entity"  # the grid's frequency
CONF_DROOP_BASE_KW: Final = "droop_base_kw"  # the fleet's draw at 50 Hz
CONF_DROOP_GAIN: Final = "droop_gain_kw_per_hz"  # change per Hz beyond the deadband
CONF_DROOP_DEADBAND_HZ: Final = "droop_deadband_hz"
CONF_TRIP_HZ: Final = "frequency_trip_hz"  # at or below: everything shed
CONF_TEMPERATURE_ENTITY: Final = "heat_temperature_entity"  # the heated room or tank
CONF_HEAT_SETPOINT_C: Final = "heat_setpoint_c"
CONF_HEAT_BAND_K: Final = "heat_band_k"  # full power this far below the setpoint
CONF_HEAT_LIMIT_C: Final = "heat_limit_c"  # never heat at or above; 0: no limit
CONF_HOT_RESERVE: Final = "hot_reserve"  # S9s held with their mining software stopped
CONF_HOT_STANDBY_W: Final = "hot_standby_w"  # what a stopped S9 draws, measured; 0: unknown
# Where the fleet's login is refused, a firmware's factory password may be tried (off).
CONF_FACTORY_PASSWORD: Final = "try_factory_password"

DEFAULT_API_PORT: Final = 4028
DEFAULT_WEB_PORT: Final = 80
DEFAULT_USERNAME: Final = "root"
DEFAULT_POWER_MODE: Final = "on_off"
DEFAULT_POLL_INTERVAL: Final = 5
DEFAULT_SNAPSHOT_INTERVAL: Final = 60
DEFAULT_RETENTION_HOURS: Final = 24
DEFAULT_RESCAN_INTERVAL: Final = 10  # minutes
DEFAULT_TEMP_LIMIT: Final = 90
DEFAULT_TARGET_POLICY: Final = "nearest"
# After a longer downtime an EMS target is not resumed: the fleet waits for the EMS.
DEFAULT_RESTORE_MAX_AGE: Final = 15  # minutes (0: always resume)
DEFAULT_MAX_MINERS: Final = 1000
# Larger fleets run without per-miner devices and entities by default: each enabled entity costs
# Home Assistant memory and garbage-collection time (see the README's figures).
MINER_ENTITIES_UP_TO: Final = 100

POWER_MODES: Final = ("on_off", "frequency")
TARGET_POLICIES: Final = ("nearest", "never_above")
STRATEGIES: Final = ("none", "pv_surplus", "price", "peak_shaving", "frequency", "heat")
STRATEGY_POLICIES: Final = ("while_ems_idle", "never_with_ems")

# Entities go unavailable only after this many failed polls in a row.
FAILED_POLLS_BEFORE_UNAVAILABLE: Final = 3
EVENT_COMMAND: Final = f"{DOMAIN}_command"
EVENT_SOURCE_CHANGED: Final = f"{DOMAIN}_source_changed"  # the source in force changed
